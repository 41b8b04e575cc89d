using System.Text.Json;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// <c>installation</c>: created / deleted / suspend / unsuspend / new_permissions_accepted. The installation row is
/// updated in place, so its token state survives a repeated <c>created</c> (Sentry overwrote it); on deletion the
/// row and its repositories are kept (disabled) so history stays queryable. Suspension is decided in GitHub's order
/// (<see cref="EventTime"/>): a suspend is timed by its <c>suspended_at</c>, so one retried or replayed after the
/// unsuspend that ended it changes nothing.
/// </summary>
internal sealed class InstallationEvents(HubgateDbContext db, InstallationTokenProvider tokens, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var eventAt = EventTime.Of(context,
            context.Action == "suspend" ? context.Json.Object("installation")?.Time("suspended_at") : null);
        if (await FromPayloadAsync(context, db, now, eventAt, cancellationToken).ConfigureAwait(false) is not { } row)
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
                if (EventTime.IsCurrent(row.StateEventAt, eventAt))
                {
                    row.Status = row.SuspendedAt is null ? InstallationStatus.Active : InstallationStatus.Suspended;
                    row.StateEventAt = eventAt;
                }

                row.DeletedAt = null;
                await AddRepositoriesAsync(context.App, id, context.Json.Array("repositories"), now, eventAt, cancellationToken).ConfigureAwait(false);
                break;
            case "deleted":
                // Final: a reinstalled App gets a new installation id, so no later event can bring this one back.
                row.Status = InstallationStatus.Deleted;
                row.DeletedAt ??= now;
                row.StateEventAt = EventTime.Latest(row.StateEventAt, eventAt);
                await InstallationDirectory.DisableRepositoriesAsync(db, context.App, id, now, cancellationToken).ConfigureAwait(false);
                dropToken = true;
                break;
            case "suspend" when EventTime.IsCurrent(row.StateEventAt, eventAt):
                row.Status = row.Status == InstallationStatus.Deleted ? row.Status : InstallationStatus.Suspended;
                row.SuspendedAt ??= eventAt;
                row.StateEventAt = eventAt;
                dropToken = true;
                break;
            case "unsuspend" when EventTime.IsCurrent(row.StateEventAt, eventAt):
                row.Status = row.Status == InstallationStatus.Deleted ? row.Status : InstallationStatus.Active;
                row.SuspendedAt = null;
                row.StateEventAt = eventAt;
                break;
            case "new_permissions_accepted":
                dropToken = true; // the next token carries the new permissions
                break;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        // The token provider acts as the default App until the registry hands each App its own: another App's
        // installation of the same id must not drop the default App's token.
        if (dropToken && context.App == StoredApp.Default)
        {
            await tokens.DropAsync(id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The payload's installation object written onto its row (tracked, not saved), its suspension only when the event
    /// (at <paramref name="eventAt"/>) is not older than what last decided it; null (ignored) without an id.
    /// </summary>
    internal static async Task<InstallationEntity?> FromPayloadAsync(WebhookContext context, HubgateDbContext db, DateTimeOffset now,
        DateTimeOffset eventAt, CancellationToken cancellationToken)
    {
        if (context.Json.Object("installation") is not { } installationJson || installationJson.Int64("id") is not { } id)
        {
            context.Ignore("the payload has no installation id");
            return null;
        }

        var row = await InstallationDirectory.TrackInstallationAsync(db, context.App, id, now, cancellationToken).ConfigureAwait(false);
        InstallationDirectory.Apply(row, installationJson, now, eventAt);
        return row;
    }

    private async Task AddRepositoriesAsync(string app, long installationId, JsonElement? repositories, DateTimeOffset now, DateTimeOffset eventAt,
        CancellationToken cancellationToken)
    {
        if (repositories is not { } list)
        {
            return;
        }

        foreach (var repository in list.EnumerateArray())
        {
            if (await InstallationDirectory.UpsertRepositoryAsync(db, app, installationId, repository, now, status: null, cancellationToken)
                    .ConfigureAwait(false) is { } row)
            {
                InstallationDirectory.Decide(row, RepositoryStatus.Active, eventAt, archiveUnknown: true);
            }
        }
    }
}

/// <summary>
/// <c>installation_repositories</c>: <c>added</c> → repositories active (an archived one stays archived);
/// <c>removed</c> → disabled (kept; a deleted one stays deleted). Timed by receipt (the payload carries no time of the
/// change), so a retried or replayed old one does not undo a newer event.
/// </summary>
internal sealed class InstallationRepositoriesEvents(HubgateDbContext db, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var eventAt = EventTime.Of(context);
        if (await InstallationEvents.FromPayloadAsync(context, db, now, eventAt, cancellationToken).ConfigureAwait(false) is not { } row)
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
                if (await InstallationDirectory.UpsertRepositoryAsync(db, context.App, id, repository, now, status: null, cancellationToken).ConfigureAwait(false) is { } target)
                {
                    InstallationDirectory.Decide(target, status, eventAt, archiveUnknown: true);
                }
            }
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
