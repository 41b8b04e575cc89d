using Hubgate.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hubgate.Integrations;

/// <summary>Registers the integration model: installations, repositories, commits and pull requests from webhooks, kept true by sync.</summary>
public static class IntegrationServiceCollectionExtensions
{
    /// <summary>The events the model is built from.</summary>
    public static readonly IReadOnlyList<string> Events = ["installation", "installation_repositories", "installation_target", "repository", "push", "pull_request", "ping"];

    /// <summary>
    /// Adds the model's webhook handlers, <see cref="InstallationSync"/> and its periodic job (<c>GitHub:SyncInterval</c>).
    /// Needs <c>AddHubgateStorage</c>, <c>AddGitHubApp</c> and <c>AddGitHubWebhooks</c>. Your own handlers for the
    /// same events run after these, with the model already updated.
    /// </summary>
    public static IServiceCollection AddGitHubIntegrationModel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<IntegrationOptions>().Bind(configuration.GetSection(IntegrationOptions.SectionName));
        services.AddOptions<SyncOptions>().Bind(configuration.GetSection("GitHub"));
        services.TryAddSingleton<InstallationDirectory>();
        services.TryAddSingleton<InstallationSync>();
        services.TryAddSingleton<PushCommits>();
        services.AddHostedService<InstallationSyncJob>();

        new WebhookBuilder(services)
            .AddHandler<InstallationEvents>("installation")
            .AddHandler<InstallationRepositoriesEvents>("installation_repositories")
            .AddHandler<InstallationTargetEvents>("installation_target")
            .AddHandler<RepositoryEvents>("repository")
            .AddHandler<PushEvents>("push")
            .AddHandler<PullRequestEvents>("pull_request")
            .AddHandler<PingEvents>("ping");
        return services;
    }
}
