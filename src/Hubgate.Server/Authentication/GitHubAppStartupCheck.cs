using Hubgate.Authentication;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Authentication;

/// <summary>Says at start-up when the service runs without App credentials (webhook-only use).</summary>
internal sealed partial class GitHubAppStartupCheck(IOptions<GitHubAppOptions> options, ILogger<GitHubAppStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var missing = options.Value.MissingCredentialKeys();
        if (missing.Count > 0)
        {
            Log.NoAppCredentials(logger, string.Join(" and ", missing));
        }
        else
        {
            Log.AppConfigured(logger, options.Value.Issuer, options.Value.NormalizedApiBaseUrl);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "No GitHub App credentials: set {Keys} to use the proxy, tokens and sync. Webhooks are still received.")]
        public static partial void NoAppCredentials(ILogger logger, string keys);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "GitHub App {Issuer} at {ApiBaseUrl}")]
        public static partial void AppConfigured(ILogger logger, string issuer, Uri apiBaseUrl);
    }
}
