using Hubgate.Apps;

namespace Hubgate.Server.Authentication;

/// <summary>Says at start-up, one line per App, which Apps the service acts as and which run without credentials (webhook-only use).</summary>
internal sealed partial class GitHubAppStartupCheck(GitHubApps apps, ILogger<GitHubAppStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var app in apps.All.Count > 0 ? apps.All : [apps.Default])
        {
            var missing = app.Options.MissingCredentialKeys();
            if (missing.Count > 0)
            {
                Log.NoAppCredentials(logger, app.Name, string.Join(" and ", missing));
            }
            else
            {
                Log.AppConfigured(logger, app.Name, app.Options.Issuer, app.ApiBaseUrl, app.Source);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "GitHub App {App} has no credentials: set {Keys} to use the proxy, tokens and sync as it. Its webhooks are still received.")]
        public static partial void NoAppCredentials(ILogger logger, string app, string keys);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "GitHub App {App}: {Issuer} at {ApiBaseUrl} (from {Source})")]
        public static partial void AppConfigured(ILogger logger, string app, string issuer, Uri apiBaseUrl, GitHubAppSource source);
    }
}
