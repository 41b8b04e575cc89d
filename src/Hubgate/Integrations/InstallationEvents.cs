using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// <c>installation</c>: created / deleted / suspend / unsuspend / new_permissions_accepted. The installation row is
/// updated in place, so its token state survives a repeated <c>created</c> (Sentry overwrote it); on deletion the
/// row and its repositories are kept (disabled) so history stays queryable.
/// </summary>
internal sealed class InstallationEvents(HubgateDbContext db, InstallationTokenProvider tokens, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (await FromPayloadAsync(context, db, now, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return;
        }

        var id = row.Id;
        var dropToken = false;
        switch (context.Action)
        {
            case "created" when row.DeletedAt is { } deletedAt:
                // GitHub gives a reinstalled App a new installation id, so this is an old `created` arriving (or
                // replayed) after the `deleted`: the installation stays deleted. Nothing tracked is saved.
                context.Ignore($"installation {id} was deleted at {deletedAt:u}; this created event is older news " +
                               "(a reinstalled App gets a new installation id)");
                return;
            case "created":
                row.Status = row.SuspendedAt is null ? InstallationStatus.Active : InstallationStatus.Suspended;
                row.DeletedAt = null;
                await AddRepositoriesAsync(id, context.Json.Array("repositories"), now, cancellationToken).ConfigureAwait(false);
                break;
            case "deleted":
                row.Status = InstallationStatus.Deleted;
                row.DeletedAt ??= now;
                await InstallationDirectory.DisableRepositoriesAsync(db, id, now, cancellationToken).ConfigureAwait(false);
                dropToken = true;
                break;
            case "suspend":
                row.Status = row.Status == InstallationStatus.Deleted ? row.Status : InstallationStatus.Suspended;
                row.SuspendedAt ??= now;
                dropToken = true;
                break;
            case "unsuspend":
                row.Status = row.Status == InstallationStatus.Deleted ? row.Status : InstallationStatus.Active;
                row.SuspendedAt = null;
                break;
            case "new_permissions_accepted":
                dropToken = true; // the next token carries the new permissions
                break;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        if (dropToken)
        {
            await tokens.DropAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The payload's installation object written onto its row (tracked, not saved); null (ignored) without an id.</summary>
    internal static async Task<InstallationEntity?> FromPayloadAsync(WebhookContext context, HubgateDbContext db, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        if (context.Json.Object("installation") is not { } installationJson || installationJson.Int64("id") is not { } id)
        {
            context.Ignore("the payload has no installation id");
            return null;
        }

        var row = await InstallationDirectory.TrackInstallationAsync(db, id, now, cancellationToken).ConfigureAwait(false);
        InstallationDirectory.Apply(row, installationJson, now);
        return row;
    }

    private async Task AddRepositoriesAsync(long installationId, JsonElement? repositories, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (repositories is not { } list)
        {
            return;
        }

        foreach (var repository in list.EnumerateArray())
        {
            await InstallationDirectory.UpsertRepositoryAsync(db, installationId, repository, now, RepositoryStatus.Active, cancellationToken)
                .ConfigureAwait(false);
        }
    }
}

/// <summary><c>installation_repositories</c>: <c>added</c> → repositories active; <c>removed</c> → disabled (kept).</summary>
internal sealed class InstallationRepositoriesEvents(HubgateDbContext db, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (await InstallationEvents.FromPayloadAsync(context, db, now, cancellationToken).ConfigureAwait(false) is not { } row)
        {
            return;
        }

        var id = row.Id;
        row.RepositorySelection = context.Json.String("repository_selection") ?? row.RepositorySelection;

        foreach (var (field, status) in new[] { ("repositories_added", RepositoryStatus.Active), ("repositories_removed", RepositoryStatus.Disabled) })
        {
            if (context.Json.Array(field) is not { } list)
            {
                continue;
            }

            foreach (var repository in list.EnumerateArray())
            {
                await InstallationDirectory.UpsertRepositoryAsync(db, id, repository, now, status, cancellationToken).ConfigureAwait(false);
            }
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
