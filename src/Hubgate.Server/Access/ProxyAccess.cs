using System.Globalization;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Access;

/// <summary>
/// Holds a proxied request to its client's policy before anything is sent to GitHub: the client's App (a client held
/// to one App is refused every other App's routes), the App right on App routes, the
/// installation list on installation routes (and on <c>/app/installations/{id}</c>), the repository list on
/// <c>/repos/{owner}/{repo}/…</c> and <c>/repositories/{id}/…</c> (403 before GitHub). Every other installation route
/// of a limited client is held by its token's own scope (<see cref="ClientTokenScopes"/>): GitHub answers it only for
/// the client's repositories and permissions. Account logins
/// and repository names are matched to ids through the model Hubgate keeps (webhooks and sync); what it does not know
/// is refused, never guessed.
/// </summary>
internal sealed class ProxyAccess(IDbContextFactory<HubgateDbContext> databases)
{
    /// <summary>Null when the policy allows the request; otherwise the refusal.</summary>
    /// <param name="client">The authenticated client.</param>
    /// <param name="app">The App the request acts for (the route's).</param>
    /// <param name="method">The HTTP method.</param>
    /// <param name="installationId">The installation of an installation route; null on the App route.</param>
    /// <param name="path">The path below the API base, as routed (no query).</param>
    /// <param name="cancellationToken">The request's cancellation.</param>
    public async ValueTask<AccessRefusal?> CheckAsync(AccessClient client, string app, string method, long? installationId, string path, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        if (AppNameRefusal(client, app) is { } otherApp)
        {
            return otherApp;
        }

        var segments = path.Trim('/').Split('/');
        if (installationId is null)
        {
            if (AppRefusal(client, method) is { } right)
            {
                return right;
            }

            // The App acting on one installation is held to the installation list too.
            return segments is ["app", "installations", var id, ..] && long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var target)
                ? await InstallationRefusalAsync(client, app, target, cancellationToken).ConfigureAwait(false)
                : null;
        }

        if (await InstallationRefusalAsync(client, app, installationId.Value, cancellationToken).ConfigureAwait(false) is { } installation)
        {
            return installation;
        }

        if (policy.AllRepositories)
        {
            return null;
        }

        return segments switch
        {
            ["repos", var owner, var name, ..] => await RepositoryByNameAsync(client, app, installationId.Value, $"{owner}/{name}", cancellationToken).ConfigureAwait(false),
            ["repositories", var id, ..] when long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var repositoryId) =>
                await RepositoryByIdAsync(client, app, installationId.Value, repositoryId, cancellationToken).ConfigureAwait(false),
            _ => null,
        };
    }

    /// <summary>Null when the client is held to <paramref name="app"/> (or to no App: the admin key); otherwise the refusal, rule <c>github-app</c>.</summary>
    public static AccessRefusal? AppNameRefusal(AccessClient client, string app) => client.Policy.Allows(app) ? null
        : new AccessRefusal(client.Name, "github-app",
            $"Client '{client.Name}' is held to the GitHub App '{client.Policy.AppName}', not '{app}' (Hubgate:Clients:{client.Name}:App).");

    private static AccessRefusal? AppRefusal(AccessClient client, string method) => client.Policy.App switch
    {
        AppRight.Admin => null,
        AppRight.Read when HttpMethods.IsGet(method) || HttpMethods.IsHead(method) => null,
        AppRight.Read => new AccessRefusal(client.Name, "app",
            $"Client '{client.Name}' may only read as the GitHub App (Hubgate:Clients:{client.Name}:AppAccess is read; {method} needs admin)."),
        _ => new AccessRefusal(client.Name, "app",
            $"Client '{client.Name}' may not act as the GitHub App (Hubgate:Clients:{client.Name}:AppAccess is none)."),
    };

    /// <summary>Null when the policy allows the installation (by id or account login).</summary>
    public async ValueTask<AccessRefusal?> InstallationRefusalAsync(AccessClient client, string app, long installationId, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        if (policy.AllInstallations || policy.InstallationIds!.Contains(installationId))
        {
            return null;
        }

        if (policy.InstallationLogins!.Count > 0)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var login = await db.Installations.AsNoTracking().Where(i => i.App == app && i.Id == installationId).Select(i => i.AccountLogin)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (login is not null && policy.InstallationLogins.Contains(login))
            {
                return null;
            }
        }

        return new AccessRefusal(client.Name, "installations",
            $"Client '{client.Name}' may not act on installation {installationId} (Hubgate:Clients:{client.Name}:Installations).");
    }

    /// <summary>Null when the policy's repository list holds <paramref name="fullName"/> (<c>owner/name</c>) on the installation.</summary>
    public async ValueTask<AccessRefusal?> RepositoryByNameAsync(AccessClient client, string app, long installationId, string fullName, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        if (policy.RepositoryNames!.Contains(fullName))
        {
            return null;
        }

        if (policy.RepositoryIds!.Count > 0)
        {
            var lowered = fullName.ToLowerInvariant();
            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            // Translated to SQL lower() on both providers (GitHub's names are case-insensitive); no culture is involved.
#pragma warning disable CA1304, CA1311, CA1862
            var ids = await db.Repositories.AsNoTracking()
                .Where(r => r.App == app && r.InstallationId == installationId && r.FullName.ToLower() == lowered).Select(r => r.Id)
#pragma warning restore CA1304, CA1311, CA1862
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            if (ids.Count == 1 && policy.RepositoryIds.Contains(ids[0]))
            {
                return null;
            }
        }

        return RepositoryRefusal(client, fullName);
    }

    /// <summary>Null when the policy's repository list holds the repository id on the installation.</summary>
    public async ValueTask<AccessRefusal?> RepositoryByIdAsync(AccessClient client, string app, long installationId, long repositoryId, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        if (policy.RepositoryIds!.Contains(repositoryId))
        {
            return null;
        }

        if (policy.RepositoryNames!.Count > 0)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var fullName = await db.Repositories.AsNoTracking().Where(r => r.App == app && r.InstallationId == installationId && r.Id == repositoryId)
                .Select(r => r.FullName).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (fullName is not null && policy.RepositoryNames.Contains(fullName))
            {
                return null;
            }
        }

        return RepositoryRefusal(client, repositoryId.ToString(CultureInfo.InvariantCulture));
    }

    private static AccessRefusal RepositoryRefusal(AccessClient client, string repository) =>
        new(client.Name, "repositories",
            $"Client '{client.Name}' may not act on repository {repository} (Hubgate:Clients:{client.Name}:Repositories).");
}
