using System.Globalization;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

/// <summary>Checks <c>Hubgate:ApiKey</c> and <c>Hubgate:Clients</c> at start-up, naming the key that is wrong.</summary>
internal sealed class ClientOptionsValidator : IValidateOptions<ApiKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiKeyOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrEmpty(options.ApiKey) && options.Clients.ContainsKey(ClientDirectory.AdminClient))
        {
            failures.Add($"Hubgate:Clients:{ClientDirectory.AdminClient} is the client Hubgate:ApiKey stands for; give the client another name or remove Hubgate:ApiKey.");
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

            if (settings.Installations.Any(string.IsNullOrWhiteSpace))
            {
                failures.Add($"{key}:Installations holds an empty entry; use installation ids, account logins or *.");
            }

            foreach (var repository in settings.Repositories.Where(r => r != "*" && !long.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out _) && !IsFullName(r)))
            {
                failures.Add($"{key}:Repositories: \"{repository}\" is neither owner/name, a repository id nor *.");
            }

            if (settings.Permissions.Count > 0)
            {
                // Without tokens minted for the permissions, nothing could hold a request to them: refuse to start
                // rather than promise a limit that is not enforced.
                failures.Add($"{key}:Permissions needs installation tokens down-scoped to those permissions, which this version does not mint yet; remove {key}:Permissions.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsSha256Hex(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigit);

    private static bool IsFullName(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < text.Length - 1 && text.IndexOf('/', slash + 1) < 0 && !text.Any(char.IsWhiteSpace);
    }
}
