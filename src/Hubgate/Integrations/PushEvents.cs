using System.Text.Json;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Hubgate.Integrations;

/// <summary>
/// <c>push</c>: records the push (ref, before/after, head commit) and stores each of its commits that Hubgate does not
/// have yet by (App, repository, sha) — a stored commit is never overwritten. When the payload's list is full (GitHub cuts
/// it at <see cref="PushCommits.PayloadLimit"/>) the rest are read through the compare API. Commits with
/// <c>distinct: false</c> (already pushed to another branch) are stored when Hubgate lacks them — the push that brought
/// them may have been missed. Skipped: commits whose message carries <c>Integrations:SkipCommitMarker</c>, and every
/// commit of a branch deletion. The repository's last push is the newest branch push by GitHub's
/// <c>repository.pushed_at</c>, whatever order deliveries arrive in; tag pushes and deletions do not count.
/// </summary>
internal sealed class PushEvents(HubgateDbContext db, InstallationDirectory directory, PushCommits pushCommits,
    IOptionsMonitor<IntegrationOptions> options, TimeProvider time) : IWebhookHandler
{
    // Compiled once: a LINQ query is otherwise built and funcletized again for every push.
    private static readonly Func<HubgateDbContext, string, long, List<string>, IAsyncEnumerable<string>> StoredShas =
        EF.CompileAsyncQuery((HubgateDbContext db, string app, long repositoryId, List<string> shas) =>
            db.Commits.AsNoTracking().Where(c => c.App == app && c.RepositoryId == repositoryId && shas.Contains(c.Sha)).Select(c => c.Sha));

    private static readonly Func<HubgateDbContext, string, string, CancellationToken, Task<bool>> PushRecorded =
        EF.CompileAsyncQuery((HubgateDbContext db, string app, string deliveryId, CancellationToken _) =>
            db.Pushes.Any(p => p.App == app && p.DeliveryId == deliveryId));

    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var repository = await EventTarget.RepositoryAsync(context, db, directory, now, eventAt: null, cancellationToken).ConfigureAwait(false);
        if (repository is null)
        {
            return;
        }

        var payload = context.Json;
        var @ref = payload.String("ref") ?? string.Empty;
        var deleted = payload.Boolean("deleted") ?? false;
        var headSha = payload.Object("head_commit")?.String("id") ?? (deleted ? null : payload.String("after"));
        var marker = options.CurrentValue.SkipCommitMarker;
        var listed = deleted ? [] : Wanted(payload, marker).Select(c => ToEntity(c, repository, @ref, now)).ToList();
        var all = listed;
        if (!deleted && PushCommits.MayBeTruncated(payload) &&
            await pushCommits.ListAsync(context, payload, cancellationToken).ConfigureAwait(false) is { } compared)
        {
            all = Merge(listed, compared, marker, repository, @ref, now);
        }

        var fresh = new List<CommitEntity>(all.Count);
        if (all.Count > 0)
        {
            var skip = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var sha in StoredShas(db, repository.App, repository.Id, [.. all.Select(c => c.Sha)])
                               .WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                skip.Add(sha);
            }

            fresh.AddRange(all.Where(c => !skip.Contains(c.Sha)));
        }

        // Commits and their file changes go in through prepared statements (EF's change tracker costs ~10× the CPU
        // per row), in the same transaction as the push and the repository's update: all of it or none of it.
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionDisposal = transaction.ConfigureAwait(false);
        await BulkInsert.InsertAsync(db, fresh, cancellationToken).ConfigureAwait(false);
        var files = new List<CommitFileChangeEntity>(fresh.Count * 4);
        foreach (var commit in fresh)
        {
            foreach (var file in commit.FileChanges)
            {
                file.CommitId = commit.Id;
                files.Add(file);
            }
        }

        await BulkInsert.InsertAsync(db, files, cancellationToken).ConfigureAwait(false);
        var pushedAt = payload.Object("repository")?.Time("pushed_at");

        if (!await PushRecorded(db, context.App, context.DeliveryId, cancellationToken).ConfigureAwait(false))
        {
            db.Pushes.Add(new PushEntity
            {
                App = context.App,
                RepositoryId = repository.Id,
                DeliveryId = context.DeliveryId,
                Ref = @ref,
                Before = payload.String("before"),
                After = payload.String("after"),
                HeadCommitSha = headSha,
                Created = payload.Boolean("created") ?? false,
                Deleted = deleted,
                Forced = payload.Boolean("forced") ?? false,
                PusherName = payload.Object("pusher")?.String("name"),
                CommitsStored = fresh.Count,
                CommitsFetched = all.Count - listed.Count,
                PushedAt = pushedAt,
                ReceivedAt = context.ReceivedAt,
            });
        }

        var pushAt = EventTime.Of(context, pushedAt);
        if (!deleted && @ref.StartsWith("refs/heads/", StringComparison.Ordinal) && EventTime.IsCurrent(repository.LastPushAt, pushAt))
        {
            repository.LastPushRef = @ref;
            repository.LastPushSha = headSha;
            repository.LastPushAt = pushAt;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The compare API's commits in its order (oldest first), each taken from the payload when it lists it (the payload
    /// has the file lists; the compare API's commits do not), then any the payload lists that the comparison does not.
    /// </summary>
    private static List<CommitEntity> Merge(List<CommitEntity> listed, List<JsonElement> compared, string? marker, RepositoryEntity repository,
        string @ref, DateTimeOffset now)
    {
        var fromPayload = listed.ToDictionary(c => c.Sha, StringComparer.Ordinal);
        var result = new List<CommitEntity>(compared.Count + listed.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var commit in compared)
        {
            var sha = commit.String("sha");
            var git = commit.Object("commit");
            var message = git?.String("message");
            if (string.IsNullOrEmpty(sha) || Skipped(message, marker) || !seen.Add(sha))
            {
                continue;
            }

            result.Add(fromPayload.TryGetValue(sha, out var listedCommit) ? listedCommit : NewCommit(repository, sha, message,
                git?.Object("author")?.Time("date"), Person(git?.Object("author"), commit.Object("author")),
                Person(git?.Object("committer"), commit.Object("committer")), commit.String("html_url"), @ref, now));
        }

        result.AddRange(listed.Where(c => seen.Add(c.Sha)));
        return result;
    }

    private static (string? Name, string? Email, string? Username) Person(JsonElement? git, JsonElement? account) =>
        (git?.String("name"), git?.String("email"), account?.String("login"));

    private static bool Skipped(string? message, string? marker) =>
        !string.IsNullOrEmpty(marker) && message is not null && message.Contains(marker, StringComparison.OrdinalIgnoreCase);

    /// <summary>The commits to store, in payload order, first occurrence of a sha winning.</summary>
    internal static List<JsonElementCommit> Wanted(JsonElement payload, string? skipMarker)
    {
        var result = new List<JsonElementCommit>();
        if (payload.Array("commits") is not { } commits)
        {
            return result;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var commit in commits.EnumerateArray())
        {
            var sha = commit.String("id");
            if (!string.IsNullOrEmpty(sha) && !Skipped(commit.String("message"), skipMarker) && seen.Add(sha))
            {
                result.Add(new JsonElementCommit(sha, commit));
            }
        }

        return result;
    }

    private static CommitEntity ToEntity(JsonElementCommit commit, RepositoryEntity repository, string @ref, DateTimeOffset now)
    {
        var json = commit.Json;
        var author = json.Object("author");
        var committer = json.Object("committer");
        var entity = NewCommit(repository, commit.Sha, json.String("message"), json.Time("timestamp"),
            (author?.String("name"), author?.String("email"), author?.String("username")),
            (committer?.String("name"), committer?.String("email"), committer?.String("username")), json.String("url"), @ref, now);
        foreach (var (field, kind) in Kinds)
        {
            foreach (var path in json.Strings(field))
            {
                entity.FileChanges.Add(new CommitFileChangeEntity { Path = path, Kind = kind });
            }
        }

        return entity;
    }

    private static CommitEntity NewCommit(RepositoryEntity repository, string sha, string? message, DateTimeOffset? timestamp,
        (string? Name, string? Email, string? Username) author, (string? Name, string? Email, string? Username) committer, string? url,
        string @ref, DateTimeOffset now) => new()
    {
        App = repository.App,
        RepositoryId = repository.Id,
        Sha = sha,
        Message = message,
        Timestamp = timestamp,
        AuthorName = author.Name,
        AuthorEmail = Email(author.Email),
        AuthorUsername = author.Username,
        CommitterName = committer.Name,
        CommitterEmail = Email(committer.Email),
        CommitterUsername = committer.Username,
        Url = url,
        Ref = @ref,
        CreatedAt = now,
    };

    private static readonly (string Field, FileChangeKind Kind)[] Kinds =
        [("added", FileChangeKind.Added), ("modified", FileChangeKind.Modified), ("removed", FileChangeKind.Removed)];

    /// <summary>An address without <c>@</c> is not an address: kept as null (Sentry invented <c>…@localhost</c>).</summary>
    private static string? Email(string? email) =>
        email is not null && email.Contains('@', StringComparison.Ordinal) ? email : null;

    internal readonly record struct JsonElementCommit(string Sha, JsonElement Json);
}
