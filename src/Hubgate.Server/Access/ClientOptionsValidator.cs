using System.Globalization;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>
/// Checks <c>Hubgate:ApiKey</c>, <c>Hubgate:Clients</c> and <c>Hubgate:FailedKeyLimitPerMinute</c> at start-up, naming
/// the key that is wrong; the same policy checks hold clients added at run time.
/// </summary>
internal sealed class ClientOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.ApiKey) && options.Clients.ContainsKey(ClientDirectory.AdminClient))
        {
            failures.Add($"Hubgate:Clients:{ClientDirectory.AdminClient} is the client Hubgate:ApiKey stands for; give the client another name or remove Hubgate:ApiKey.");
        }

        if (options.FailedKeyLimitPerMinute < 1)
        {
            failures.Add("Hubgate:FailedKeyLimitPerMinute must be at least 1 (failed key checks allowed per remote address and minute; default 20).");
        }

        foreach (var (client, settings) in options.Clients)
        {
            var key = $"Hubgate:Clients:{client}";
            if (string.IsNullOrEmpty(settings.Key) == string.IsNullOrEmpty(settings.KeySha256))
            {
                failures.Add($"{key}: set exactly one of {key}:Key and {key}:KeySha256.");
            }
            else if (settings.KeySha256 is { Length: > 0 } hash && !IsSha256Hex(hash))
            {
                failures.Add($"{key}:KeySha256 must be 64 hex digits (the SHA-256 of the key, e.g. printf %s \"$KEY\" | sha256sum).");
            }

            failures.AddRange(CheckPolicy(key + ":", settings));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>What is wrong with a run-time client's name: lower-case letters, digits, '.', '_' and '-', at most 64.</summary>
    public static IEnumerable<string> CheckName(string name)
    {
        if (name.Length is 0 or > 64 || !char.IsAsciiLetterLower(name[0]) && !char.IsAsciiDigit(name[0])
            || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-'))
        {
            yield return $"'{name}' is not a client name: use 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.";
        }
    }

    /// <summary>What is wrong with a policy; <paramref name="prefix"/> names where it is set (<c>Hubgate:Clients:ci:</c>).</summary>
    public static IEnumerable<string> CheckPolicy(string prefix, ClientOptions settings)
    {
        if (settings.AppLooksLikeARight)
        {
            yield return $"{prefix}App: \"{settings.App}\" is a right, but App names the GitHub App the client is held to (absent = default); " +
                         $"set what the client may do as that App in {prefix}AppAccess (none, read or admin).";
        }
        else if (!Hubgate.Apps.GitHubApp.IsValidName(settings.AppName))
        {
            yield return $"{prefix}App: \"{settings.App}\" is not an App name (1 to 64 of a-z, 0-9 and '-'; absent = default).";
        }

        if (settings.Installations.Any(string.IsNullOrWhiteSpace))
        {
            yield return $"{prefix}Installations holds an empty entry; use installation ids, account logins or *.";
        }

        foreach (var repository in settings.Repositories.Where(r => r != "*" && !long.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out _) && !IsFullName(r)))
        {
            yield return $"{prefix}Repositories: \"{repository}\" is neither owner/name, a repository id nor *.";
        }

        foreach (var (permission, level) in settings.Permissions.Where(p => Hubgate.Authentication.InstallationTokenScope.Rank(p.Value.Trim()) == 0 ||
                     string.IsNullOrWhiteSpace(p.Key) || !p.Key.Trim().All(c => char.IsAsciiLetter(c) || c == '_')))
        {
            yield return $"{prefix}Permissions:{permission} = \"{level}\": use GitHub's permission names (contents, pull_requests, …) with read, write or admin.";
        }

        foreach (var (stream, i) in settings.Streams.Select((s, i) => (s, i)))
        {
            if (Hubgate.Webhooks.Subscriptions.SubscriptionValidation.NameProblem(stream?.Trim()) is { } problem)
            {
                yield return $"{prefix}Streams:{i}: {problem} (the name of a Stream subscription the client may read).";
            }
        }
    }

    private static bool IsSha256Hex(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigit);

    private static bool IsFullName(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < text.Length - 1 && text.IndexOf('/', slash + 1) < 0 && !text.Any(char.IsWhiteSpace);
    }
}
