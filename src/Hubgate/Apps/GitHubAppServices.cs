using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Apps;

/// <summary>What every <see cref="GitHubApp"/> is built from: the process's clock, database, HTTP clients and logging.</summary>
internal sealed class GitHubAppServices(
    TimeProvider time,
    IDbContextFactory<HubgateDbContext> contexts,
    IHttpClientFactory httpClients,
    InstallationTokenStore tokenStore,
    IOptionsMonitor<GitHubAppsOptions> apps,
    ILoggerFactory loggers)
{
    /// <summary>GitHub's clock for one App; <c>default</c> keeps the offset under today's state key.</summary>
    public GitHubClock CreateClock(string app) =>
        new(time, contexts, loggers.CreateLogger<GitHubClock>()) { App = app };

    public InstallationTokenProvider CreateTokenProvider(string app, GitHubAppOptions options, GitHubClock clock) =>
        new(app, httpClients, tokenStore, options, clock, loggers.CreateLogger<InstallationTokenProvider>());

    /// <summary>A stored App's settings: its identity, key, host and secrets, with the deployment's general settings.</summary>
    public GitHubAppOptions OptionsFor(GitHubAppRegistration registration)
    {
        var options = apps.CurrentValue.Apps.TryGetValue(GitHubApp.DefaultName, out var general)
            ? GitHubAppsOptions.WithGeneralSettings(general)
            : new GitHubAppOptions();
        options.AppId = registration.AppId;
        options.ClientId = registration.ClientId;
        options.PrivateKey = registration.PrivateKeyPem;
        options.ApiBaseUrl = registration.ApiBaseUrl;
        options.WebBaseUrl = registration.WebBaseUrl;
        options.WebhookSecret = registration.WebhookSecret;
        foreach (var secret in registration.AdditionalWebhookSecrets)
        {
            options.AdditionalWebhookSecrets.Add(secret);
        }

        options.ConfigurationPrefix = $"App '{registration.Name}'";
        return options;
    }
}
