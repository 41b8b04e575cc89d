using Hubgate.Authentication;
using Microsoft.Extensions.Options;

namespace Hubgate.Apps;

/// <summary>
/// Start-up validation of the named Apps (<c>default</c>'s keys are checked by <see cref="GitHubAppOptionsValidator"/>
/// as before): each must be able to act as its App, and no two Apps may claim the same App on the same host.
/// </summary>
internal sealed class GitHubAppsOptionsValidator : IValidateOptions<GitHubAppsOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubAppsOptions options)
    {
        var failures = new List<string>();
        foreach (var invalid in options.InvalidNames)
        {
            failures.Add(invalid == GitHubApp.DefaultName
                ? $"{GitHubAppOptions.SectionName}:{GitHubAppsOptions.AppsSectionName}:{invalid}: the App 'default' is configured with the GitHub:* keys themselves (GitHub:AppId, GitHub:PrivateKeyPath, …), not under GitHub:Apps."
                : $"{GitHubAppOptions.SectionName}:{GitHubAppsOptions.AppsSectionName}:{invalid}: App names are 1 to 64 of a-z, 0-9 and '-'.");
        }

        foreach (var (appName, app) in options.Apps)
        {
            if (appName == GitHubApp.DefaultName)
            {
                continue;
            }

            if (!app.HasAppCredentials)
            {
                failures.Add($"{app.ConfigurationPrefix}: the App cannot authenticate: set {string.Join(" and ", app.MissingCredentialKeys())}.");
            }

            var result = GitHubAppOptionsValidator.Check(app);
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        failures.AddRange(DuplicateApps(options.Apps.Where(a => a.Value.HasAppCredentials && a.Value.ApiBaseUrl is { IsAbsoluteUri: true })
            .Select(a => (a.Key, a.Value.AppId, a.Value.ClientId, a.Value.NormalizedApiBaseUrl))));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Apps that name the same GitHub App (App id or client id) on the same host, as messages naming both.</summary>
    internal static IEnumerable<string> DuplicateApps(IEnumerable<(string Name, long? AppId, string? ClientId, Uri ApiBase)> apps)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (appName, appId, clientId, apiBase) in apps)
        {
            var host = apiBase.GetLeftPart(UriPartial.Authority);
            foreach (var identity in new[] { appId is > 0 ? $"id {appId}" : null, string.IsNullOrWhiteSpace(clientId) ? null : $"client id {clientId.Trim()}" })
            {
                if (identity is null)
                {
                    continue;
                }

                if (seen.TryGetValue(host + " " + identity, out var first))
                {
                    yield return $"GitHub Apps '{first}' and '{appName}' are the same App ({identity} on {host}): configure each GitHub App once.";
                    break;
                }

                seen[host + " " + identity] = appName;
            }
        }
    }
}
