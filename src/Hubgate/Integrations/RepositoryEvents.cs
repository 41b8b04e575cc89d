using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// <c>repository</c>: every action refreshes name, full name, owner, default branch and visibility from the payload
/// (renamed, transferred, edited, privatized, publicized); deleted / archived / unarchived set the status, in GitHub's
/// order (timed by <c>repository.updated_at</c>, see <see cref="EventTime"/>): an old archived or unarchived arriving
/// late changes nothing, and deleted is final.
/// </summary>
internal sealed class RepositoryEvents(HubgateDbContext db, InstallationDirectory directory, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var eventAt = EventTime.Of(context, context.Json.Object("repository")?.Time("updated_at"));
        var repository = await EventTarget.RepositoryAsync(context, db, directory, now, eventAt, cancellationToken).ConfigureAwait(false);
        if (repository is null)
        {
            return;
        }

        RepositoryStatus? wanted = context.Action switch
        {
            "deleted" => RepositoryStatus.Deleted,
            "archived" => RepositoryStatus.Archived,
            "unarchived" or "created" => RepositoryStatus.Active,
            _ => null,
        };
        if (wanted is { } status)
        {
            InstallationDirectory.Decide(repository, status, eventAt);
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
