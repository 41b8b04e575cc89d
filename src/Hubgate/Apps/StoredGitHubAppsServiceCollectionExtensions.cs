using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hubgate.Apps;

/// <summary>Registers the Apps added at run time and kept in the database.</summary>
public static class StoredGitHubAppsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="GitHubAppStore"/>: Apps stored (secrets encrypted) in the database and registered in
    /// <see cref="GitHubApps"/>. Needs <c>AddHubgateStorage</c> and <c>AddGitHubApp</c>.
    /// </summary>
    public static IServiceCollection AddStoredGitHubApps(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GitHubAppStore>();
        return services;
    }

    /// <summary>
    /// Also registers every stored App when the host starts and re-reads them every
    /// <see cref="StoredAppsRefresher.Interval"/> (Apps added or removed by other replicas).
    /// </summary>
    public static IServiceCollection AddStoredGitHubAppsRefresh(this IServiceCollection services)
    {
        services.AddStoredGitHubApps();
        services.AddHostedService<StoredAppsRefresher>();
        return services;
    }
}
