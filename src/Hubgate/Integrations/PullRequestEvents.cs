using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Integrations;

/// <summary>
/// <c>pull_request</c>, every action: upsert by (App, repository, number) — title, body, state (<c>merged</c> wins over
/// <c>closed</c>, and a merged pull request stays merged), draft, author, head sha and ref, base ref, merge commit
/// (only when merged) and the opened / closed / merged times. An event older than the stored version (GitHub's
/// <c>updated_at</c>) that arrives late does not roll it back.
/// </summary>
internal sealed class PullRequestEvents(HubgateDbContext db, InstallationDirectory directory, TimeProvider time) : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        if (context.Json.Object("pull_request") is not { } pr ||
            (context.Json.Int64("number") ?? pr.Int64("number")) is not { } number || number is <= 0 or > int.MaxValue)
        {
            context.Ignore("the payload has no pull request number");
            return;
        }

        var now = time.GetUtcNow();
        var repository = await EventTarget.RepositoryAsync(context, db, directory, now, eventAt: null, cancellationToken).ConfigureAwait(false);
        if (repository is null)
        {
            return;
        }

        var row = await db.PullRequests.FirstOrDefaultAsync(p => p.App == repository.App && p.RepositoryId == repository.Id && p.Number == (int)number, cancellationToken)
            .ConfigureAwait(false);
        var updatedAt = pr.Time("updated_at");
        if (row is not null && row.GitHubUpdatedAt is { } storedAt && updatedAt is { } incomingAt && incomingAt < storedAt)
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false); // the repository may be new
            return;
        }

        if (row is null)
        {
            row = new PullRequestEntity { App = repository.App, RepositoryId = repository.Id, Number = (int)number };
            db.PullRequests.Add(row);
        }

        var mergedAt = pr.Time("merged_at");
        var merged = pr.Boolean("merged") == true || mergedAt is not null || row.State == PullRequestState.Merged;
        row.GitHubId = pr.Int64("id") ?? row.GitHubId;
        row.Title = pr.String("title");
        row.Body = pr.String("body");
        row.State = merged ? PullRequestState.Merged
            : string.Equals(pr.String("state"), "closed", StringComparison.Ordinal) ? PullRequestState.Closed
            : PullRequestState.Open;
        row.Draft = pr.Boolean("draft") ?? false;
        row.AuthorLogin = pr.Object("user")?.String("login") ?? row.AuthorLogin;
        row.HeadSha = pr.Object("head")?.String("sha") ?? row.HeadSha;
        row.HeadRef = pr.Object("head")?.String("ref") ?? row.HeadRef;
        row.BaseRef = pr.Object("base")?.String("ref") ?? row.BaseRef;
        row.MergeCommitSha = merged ? pr.String("merge_commit_sha") ?? row.MergeCommitSha : null;
        row.OpenedAt = pr.Time("created_at") ?? row.OpenedAt;
        row.ClosedAt = row.State == PullRequestState.Open ? null : pr.Time("closed_at") ?? row.ClosedAt;
        row.MergedAt = merged ? mergedAt ?? row.MergedAt : null;
        row.GitHubUpdatedAt = updatedAt ?? row.GitHubUpdatedAt;
        row.UpdatedAt = now;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }
}
