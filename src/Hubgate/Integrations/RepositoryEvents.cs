using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// <c>repository</c>: every action refreshes name, full name, owner, default branch and visibility from the payload
/// (renamed, transferred, edited, privatized, publicized); deleted / archived / unarchived set the status.
/// </summary>
internal sealed class RepositoryEvents(HubgateDbContext db, InstallationDirectory directory, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var repository = await EventTarget.RepositoryAsync(context, db, directory, now, cancellationToken).ConfigureAwait(false);
        if (repository is null)
        {
            return;
        }

        switch (context.Action)
        {
            case "deleted":
                repository.Status = RepositoryStatus.Deleted;
                break;
            case "archived":
                repository.Status = RepositoryStatus.Archived;
                break;
            case "unarchived":
            case "created":
                repository.Status = RepositoryStatus.Active;
                break;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
