using Hubgate.Authentication;
using Microsoft.Extensions.Configuration;

namespace Hubgate.Apps;

/// <summary>
/// Every App in configuration: today's single-App keys (<c>GitHub:AppId</c>, …) as <c>default</c>, and each
/// <c>GitHub:Apps:{name}</c> section. A named App takes the general settings (<c>GitHub:RequestTimeout</c>,
/// <c>RetryDelay</c>, <c>MaxRateLimitWait</c>, <c>TokenRefreshAhead</c>, <c>JwtIssuer</c>) from <c>GitHub</c> unless
/// its own section sets them, and none of <c>default</c>'s identity, key, host or secrets.
/// </summary>
public sealed class GitHubAppsOptions
{
    /// <summary>The section below <c>GitHub</c> that holds the named Apps.</summary>
    public const string AppsSectionName = "Apps";

    /// <summary>The configured Apps by name, <c>default</c> first.</summary>
    public Dictionary<string, GitHubAppOptions> Apps { get; } = new(StringComparer.Ordinal);

    /// <summary>Names under <c>GitHub:Apps</c> that are not valid App names (reported by validation).</summary>
    internal List<string> InvalidNames { get; } = [];

    /// <summary>Reads <paramref name="configuration"/>'s <c>GitHub</c> section into <paramref name="options"/>.</summary>
    internal static void Read(GitHubAppsOptions options, IConfiguration configuration) =>
        Read(options, configuration.GetSection(GitHubAppOptions.SectionName));

    /// <summary>
    /// Reads <paramref name="gitHub"/> (a section shaped like <c>GitHub</c>) into <paramref name="options"/>; messages
    /// name the keys under the section's own path.
    /// </summary>
    internal static void Read(GitHubAppsOptions options, IConfigurationSection gitHub)
    {
        var defaults = new GitHubAppOptions { ConfigurationPrefix = gitHub.Path };
        gitHub.Bind(defaults);
        options.Apps[GitHubApp.DefaultName] = defaults;

        foreach (var section in gitHub.GetSection(AppsSectionName).GetChildren())
        {
            if (!GitHubApp.IsValidName(section.Key) || section.Key == GitHubApp.DefaultName)
            {
                options.InvalidNames.Add(section.Key);
                continue;
            }

            options.Apps[section.Key] = ForNamedApp(gitHub, section);
        }
    }

    /// <summary>A named App's settings: the general ones from <c>GitHub</c>, then its own section.</summary>
    private static GitHubAppOptions ForNamedApp(IConfigurationSection gitHub, IConfigurationSection section)
    {
        var options = WithGeneralSettings(gitHub);
        section.Bind(options);
        options.ConfigurationPrefix = $"{gitHub.Path}:{AppsSectionName}:{section.Key}";
        return options;
    }

    /// <summary>A fresh App's settings holding only the deployment-wide ones (timeouts, waits) from <c>GitHub</c>.</summary>
    internal static GitHubAppOptions WithGeneralSettings(IConfigurationSection gitHub)
    {
        var general = new GitHubAppOptions();
        gitHub.Bind(general);
        return WithGeneralSettings(general);
    }

    /// <summary>A fresh App's settings holding only the deployment-wide ones (timeouts, waits) of <paramref name="general"/>.</summary>
    internal static GitHubAppOptions WithGeneralSettings(GitHubAppOptions general) =>
        new()
        {
            JwtIssuer = general.JwtIssuer,
            TokenRefreshAhead = general.TokenRefreshAhead,
            MaxRateLimitWait = general.MaxRateLimitWait,
            RequestTimeout = general.RequestTimeout,
            RetryDelay = general.RetryDelay,
        };
}
