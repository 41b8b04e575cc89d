using Hubgate.Apps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>Says at start-up, loudly, for each App without a webhook secret (every delivery to it would be refused).</summary>
internal sealed partial class WebhookSecretStartupCheck(GitHubApps apps, ILogger<WebhookSecretStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var app in apps.All.Where(a => a.WebhookSecrets.Count == 0))
        {
            Log.NoSecret(logger, app.Name, WebhookSecretKeys.Primary(app), WebhookSecretKeys.Environment(app));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 315, Level = LogLevel.Error,
            Message = "No webhook secret is configured for App {App}: every delivery to it will be refused with 401 until {Key} (environment: {EnvironmentVariable}) is set to the App's webhook secret.")]
        public static partial void NoSecret(ILogger logger, string app, string key, string environmentVariable);
    }
}
