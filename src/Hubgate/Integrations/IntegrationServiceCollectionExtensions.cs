using Hubgate.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        services.AddOptions<SyncOptions>().Bind(configuration.GetSection("GitHub"));
        return services.AddGitHubIntegrationModel(configuration.GetSection(IntegrationOptions.SectionName));
    }

    /// <summary>
    /// As <see cref="AddGitHubIntegrationModel(IServiceCollection, IConfiguration)"/>, with <see cref="IntegrationOptions"/>
    /// bound from <paramref name="section"/> (the section itself, e.g. <c>configuration.GetSection("Integrations")</c>).
    /// The sync interval keeps its default (6 h) unless set with <c>services.Configure&lt;SyncOptions&gt;(…)</c>.
    /// </summary>
    public static IServiceCollection AddGitHubIntegrationModel(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<IntegrationOptions>().Bind(section);
        return AddModel(services);
    }

    /// <summary>
    /// As <see cref="AddGitHubIntegrationModel(IServiceCollection, IConfiguration)"/>, with <see cref="IntegrationOptions"/>
    /// set by <paramref name="configure"/> (from their defaults; no configuration is read). The sync interval keeps its
    /// default (6 h) unless set with <c>services.Configure&lt;SyncOptions&gt;(…)</c>; either is validated at start-up.
    /// </summary>
    public static IServiceCollection AddGitHubIntegrationModel(this IServiceCollection services, Action<IntegrationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<IntegrationOptions>().Configure(configure);
        return AddModel(services);
    }

    private static IServiceCollection AddModel(IServiceCollection services)
    {
        services.AddOptions<SyncOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SyncOptions>, SyncOptionsValidator>());
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
