using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;

namespace Hubgate.Integrations;

/// <summary>
/// The installation and repository an event is about, registered first when Hubgate has not seen them (as Sentry
/// does); or why the delivery is not for the model (the delivery is then marked ignored with that reason).
/// </summary>
internal static class EventTarget
{
    public static async Task<InstallationEntity?> InstallationAsync(WebhookContext context, HubgateDbContext db, InstallationDirectory directory,
        CancellationToken cancellationToken)
    {
        if (context.InstallationId is not { } installationId)
        {
            context.Ignore("the payload names no installation: it was sent by a repository or organization webhook, not by the App");
            return null;
        }

        var (installation, cannotAsk) = await directory.FindOrFetchAsync(db, context.App, installationId, cancellationToken).ConfigureAwait(false);
        if (cannotAsk is not null)
        {
            // Webhook-only set-up (no App credentials): retrying cannot help, so the delivery is kept and marked, once.
            context.Ignore($"installation {installationId} is not known here and cannot be looked up: {cannotAsk}");
            return null;
        }

        if (installation is null)
        {
            context.Ignore($"installation {installationId} is unknown to GitHub (404 from GET /app/installations/{installationId})");
        }

        return installation;
    }

    /// <summary>
    /// The repository the event is about, upserted; a disabled one becomes active again unless the event (at
    /// <paramref name="eventAt"/>, else its receipt) is older than its removal.
    /// </summary>
    public static async Task<RepositoryEntity?> RepositoryAsync(WebhookContext context, HubgateDbContext db, InstallationDirectory directory,
        DateTimeOffset now, DateTimeOffset? eventAt, CancellationToken cancellationToken)
    {
        var installation = await InstallationAsync(context, db, directory, cancellationToken).ConfigureAwait(false);
        if (installation is null)
        {
            return null;
        }

        if (context.Json.Object("repository") is not { } repositoryJson ||
            await InstallationDirectory.UpsertRepositoryAsync(db, context.App, installation.Id, repositoryJson, now, status: null, cancellationToken)
                .ConfigureAwait(false) is not { } repository)
        {
            context.Ignore("the payload names no repository");
            return null;
        }

        if (repository.Status == RepositoryStatus.Disabled)
        {
            // GitHub only sends the App events of repositories it can see, so it has access again — unless this event
            // is older than the removal (a retry or a replay).
            InstallationDirectory.Decide(repository, RepositoryStatus.Active, eventAt ?? EventTime.Of(context), archiveUnknown: true);
        }

        return repository;
    }
}
