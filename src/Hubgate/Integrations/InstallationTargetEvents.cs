using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Integrations;

/// <summary>
/// <c>installation_target</c> <c>renamed</c>: the user or organization the App is installed on changed its login (an
/// enterprise its slug). The installation's account and the owner and full name of each of its repositories owned by
/// the old login take the new one at once, rather than staying stale until the next sync.
/// </summary>
internal sealed class InstallationTargetEvents(HubgateDbContext db, InstallationDirectory directory, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var payload = context.Json;
        if (payload.Object("account") is not { } account || (account.String("login") ?? account.String("slug")) is not { } login)
        {
            context.Ignore("the payload names no account login");
            return;
        }

        var installation = await EventTarget.InstallationAsync(context, db, directory, cancellationToken).ConfigureAwait(false);
        if (installation is null)
        {
            return;
        }

        var changes = payload.Object("changes");
        var previous = changes?.Object("login")?.String("from") ?? changes?.Object("slug")?.String("from") ?? installation.AccountLogin;
        var now = time.GetUtcNow();
        InstallationDirectory.ApplyAccount(installation, account);
        installation.UpdatedAt = now;

        var repositories = await db.Repositories.Where(r => r.App == installation.App && r.InstallationId == installation.Id).ToListAsync(cancellationToken).ConfigureAwait(false);
        foreach (var repository in repositories.Where(r => previous is not null && string.Equals(r.OwnerLogin, previous, StringComparison.OrdinalIgnoreCase)))
        {
            repository.OwnerLogin = login;
            repository.FullName = login + "/" + repository.Name;
            repository.UpdatedAt = now;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
