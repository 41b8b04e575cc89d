using Hubgate.Apps;
using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Authentication;

/// <summary>
/// Says at start-up, one line per App, which Apps the service acts as and which run without credentials (webhook-only
/// use); and which configured clients are held to an App the service does not have (all their requests would be refused).
/// </summary>
internal sealed partial class GitHubAppStartupCheck(GitHubApps apps, IOptions<ApiKeyOptions> clients, ILogger<GitHubAppStartupCheck> logger) : IHostedService
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

        foreach (var (client, settings) in clients.Value.Clients)
        {
            if (!apps.TryGet(settings.AppName, out _))
            {
                Log.ClientOfUnknownApp(logger, client, settings.AppName, $"Hubgate:Clients:{client}:App");
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "GitHub App {App} has no credentials: set {Keys} to use the proxy, tokens and sync as it. Its webhooks are still received.")]
        public static partial void NoAppCredentials(ILogger logger, string app, string keys);

        [LoggerMessage(EventId = 402, Level = LogLevel.Warning,
            Message = "Client {Client} is held to the GitHub App {App}, which is neither configured nor stored (yet): its requests are refused until it is ({Setting})")]
        public static partial void ClientOfUnknownApp(ILogger logger, string client, string app, string setting);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "GitHub App {App}: {Issuer} at {ApiBaseUrl} (from {Source})")]
        public static partial void AppConfigured(ILogger logger, string app, string issuer, Uri apiBaseUrl, GitHubAppSource source);
    }
}
