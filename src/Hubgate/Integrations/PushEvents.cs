using System.Text.Json;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Hubgate.Integrations;

/// <summary>
/// <c>push</c>: records the push (ref, before/after, head commit) and stores each of its commits that Hubgate does not
/// have yet by (repository, sha) — a stored commit is never overwritten. Skipped: commits with <c>distinct: false</c>
/// (already pushed to another branch), commits whose message carries <c>Integrations:SkipCommitMarker</c>, and every
/// commit of a branch deletion.
/// </summary>
internal sealed class PushEvents(HubgateDbContext db, InstallationDirectory directory, IOptionsMonitor<IntegrationOptions> options, TimeProvider time)
    : IWebhookHandler
{
    public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var repository = await EventTarget.RepositoryAsync(context, db, directory, now, cancellationToken).ConfigureAwait(false);
        if (repository is null)
        {
            return;
        }

        var payload = context.Json;
        var @ref = payload.String("ref") ?? string.Empty;
        var deleted = payload.Boolean("deleted") ?? false;
        var headSha = payload.Object("head_commit")?.String("id") ?? (deleted ? null : payload.String("after"));
        var commits = deleted ? [] : Wanted(payload, options.CurrentValue.SkipCommitMarker);

        var fresh = new List<CommitEntity>(commits.Count);
        if (commits.Count > 0)
        {
            var shas = commits.Select(c => c.Sha).ToList();
            var known = await db.Commits.AsNoTracking()
                .Where(c => c.RepositoryId == repository.Id && shas.Contains(c.Sha))
                .Select(c => c.Sha)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var skip = known.ToHashSet(StringComparer.Ordinal);
            fresh.AddRange(commits.Where(c => !skip.Contains(c.Sha)).Select(c => ToEntity(c, repository.Id, @ref, now)));
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
        var stored = fresh.Count;

        if (!await db.Pushes.AnyAsync(p => p.DeliveryId == context.DeliveryId, cancellationToken).ConfigureAwait(false))
        {
            db.Pushes.Add(new PushEntity
            {
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
                CommitsStored = stored,
                ReceivedAt = context.ReceivedAt,
            });
        }

        if (repository.LastPushAt is null || context.ReceivedAt >= repository.LastPushAt)
        {
            repository.LastPushRef = @ref;
            repository.LastPushSha = headSha;
            repository.LastPushAt = context.ReceivedAt;
        }

        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

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
            if (string.IsNullOrEmpty(sha) || commit.Boolean("distinct") == false)
            {
                continue;
            }

            var message = commit.String("message");
            if (!string.IsNullOrEmpty(skipMarker) && message is not null && message.Contains(skipMarker, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (seen.Add(sha))
            {
                result.Add(new JsonElementCommit(sha, commit));
            }
        }

        return result;
    }

    private static CommitEntity ToEntity(JsonElementCommit commit, long repositoryId, string @ref, DateTimeOffset now)
    {
        var json = commit.Json;
        var author = json.Object("author");
        var committer = json.Object("committer");
        var entity = new CommitEntity
        {
            RepositoryId = repositoryId,
            Sha = commit.Sha,
            Message = json.String("message"),
            Timestamp = json.Time("timestamp"),
            AuthorName = author?.String("name"),
            AuthorEmail = Email(author?.String("email")),
            AuthorUsername = author?.String("username"),
            CommitterName = committer?.String("name"),
            CommitterEmail = Email(committer?.String("email")),
            CommitterUsername = committer?.String("username"),
            Url = json.String("url"),
            Ref = @ref,
            CreatedAt = now,
        };
        foreach (var (field, kind) in Kinds)
        {
            foreach (var path in json.Strings(field))
            {
                entity.FileChanges.Add(new CommitFileChangeEntity { Path = path, Kind = kind });
            }
        }

        return entity;
    }

    private static readonly (string Field, FileChangeKind Kind)[] Kinds =
        [("added", FileChangeKind.Added), ("modified", FileChangeKind.Modified), ("removed", FileChangeKind.Removed)];

    /// <summary>An address without <c>@</c> is not an address: kept as null (Sentry invented <c>…@localhost</c>).</summary>
    private static string? Email(string? email) =>
        email is not null && email.Contains('@', StringComparison.Ordinal) ? email : null;

    internal readonly record struct JsonElementCommit(string Sha, JsonElement Json);
}
