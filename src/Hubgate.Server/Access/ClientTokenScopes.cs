using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Access;

/// <summary>
/// The installation token a client's requests are sent with: for a client limited to repositories or permissions, a
/// token minted for exactly its scope on that installation, so GitHub itself holds every route to the policy. GitHub
/// scopes a token by bare names within the installation's account and by ids; the policy's <c>owner/name</c> entries
/// count on the installation of that owner (account login from the model), its ids where the model places them on the
/// installation. Worked out once per (policy, App, installation) and kept for <see cref="Lifetime"/>, so the cache-hit path
/// is one dictionary look-up.
/// </summary>
internal sealed class ClientTokenScopes(IDbContextFactory<HubgateDbContext> databases, TimeProvider time)
{
    /// <summary>How long a worked-out scope is kept before the model is asked again (repositories added or moved).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>The scope of the client's tokens on the installation of <paramref name="app"/> (its model rows), or the refusal when it may reach nothing there.</summary>
    public ValueTask<ResolvedScope> ResolveAsync(AccessClient client, string app, long installationId, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        if (!policy.IsScoped)
        {
            return ValueTask.FromResult(ResolvedScope.Full);
        }

        if (policy.Scopes.TryGetValue((app, installationId), out var known) && time.GetElapsedTime(known.ResolvedAt) < Lifetime)
        {
            return ValueTask.FromResult(known);
        }

        return ResolveSlowAsync(client, app, installationId, cancellationToken);
    }

    private async ValueTask<ResolvedScope> ResolveSlowAsync(AccessClient client, string app, long installationId, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        List<string> names = [];
        List<long> ids = [];
        if (!policy.AllRepositories)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var account = await db.Installations.AsNoTracking().Where(i => i.App == app && i.Id == installationId).Select(i => i.AccountLogin)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (policy.RepositoryNames!.Count > 0 && account is not null)
            {
                names.AddRange(policy.RepositoryNames
                    .Select(n => n.Split('/'))
                    .Where(p => p[0].Equals(account, StringComparison.OrdinalIgnoreCase))
                    .Select(p => p[1]));
            }

            if (policy.RepositoryIds!.Count > 0)
            {
                var wanted = policy.RepositoryIds.ToList();
                ids.AddRange(await db.Repositories.AsNoTracking().Where(r => r.App == app && r.InstallationId == installationId && wanted.Contains(r.Id))
                    .Select(r => r.Id).ToListAsync(cancellationToken).ConfigureAwait(false));
            }

            if (names.Count == 0 && ids.Count == 0)
            {
                // Not cached: the model may learn the installation's account or repositories any moment.
                return new ResolvedScope(InstallationTokenScope.Full, time.GetTimestamp(), new AccessRefusal(client.Name, "repositories",
                    $"Client '{client.Name}' has no repository on installation {installationId} (Hubgate:Clients:{client.Name}:Repositories" +
                    (account is null ? "; Hubgate does not know the installation's account yet — it learns it from webhooks and `hubgate sync`)." : ").")));
            }
        }

        var scope = InstallationTokenScope.Create(names, ids, policy.Permissions);
        var resolved = new ResolvedScope(scope, time.GetTimestamp(), Refusal: null);
        policy.Scopes[(app, installationId)] = resolved;
        return resolved;
    }
}

/// <summary>A client's token scope on one installation, when it was worked out, or why it has none.</summary>
internal sealed record ResolvedScope(InstallationTokenScope Scope, long ResolvedAt, AccessRefusal? Refusal)
{
    /// <summary>The installation's own scope (an unlimited client).</summary>
    public static readonly ResolvedScope Full = new(InstallationTokenScope.Full, 0, null);
}
