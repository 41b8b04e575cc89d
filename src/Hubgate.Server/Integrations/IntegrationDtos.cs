using System.Text.Json;
using Hubgate.Storage;

namespace Hubgate.Server.Integrations;

/// <summary>An installation as the API shows it. Its token appears as expiry only — never the token.</summary>
internal sealed record InstallationDto(
    string App, long Id, long? AppId, string? Account, long? AccountId, string? AccountType, string? TargetType, string? RepositorySelection,
    InstallationStatus Status, JsonElement? Permissions, JsonElement? Events, TokenStateDto Token, int? Repositories,
    DateTimeOffset? SuspendedAt, DateTimeOffset? DeletedAt, DateTimeOffset? SyncedAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static InstallationDto From(InstallationEntity i, DateTimeOffset now, int? repositories = null) => new(
        i.App, i.Id, i.AppId, i.AccountLogin, i.AccountId, i.AccountType, i.TargetType, i.RepositorySelection, i.Status,
        Parse(i.PermissionsJson), Parse(i.EventsJson), TokenStateDto.From(i, now), repositories, i.SuspendedAt, i.DeletedAt, i.SyncedAt,
        i.CreatedAt, i.UpdatedAt);

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}

/// <summary>Whether a token is stored and until when it is valid.</summary>
internal sealed record TokenStateDto(bool Stored, DateTimeOffset? ExpiresAt, bool Expired)
{
    public static TokenStateDto From(InstallationEntity i, DateTimeOffset now) =>
        new(i.TokenCiphertext is not null, i.TokenCiphertext is null ? null : i.TokenExpiresAt,
            i.TokenCiphertext is not null && i.TokenExpiresAt is { } at && at <= now);
}

internal sealed record RepositoryDto(
    string App, long Id, long InstallationId, string Name, string FullName, string? Owner, bool Private, string? DefaultBranch, RepositoryStatus Status,
    string? LastPushRef, string? LastPushSha, DateTimeOffset? LastPushAt, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static readonly System.Linq.Expressions.Expression<Func<RepositoryEntity, RepositoryDto>> Projection = r => new RepositoryDto(
        r.App, r.Id, r.InstallationId, r.Name, r.FullName, r.OwnerLogin, r.Private, r.DefaultBranch, r.Status, r.LastPushRef, r.LastPushSha,
        r.LastPushAt, r.CreatedAt, r.UpdatedAt);
}

internal sealed record PersonDto(string? Name, string? Email, string? Username);

internal sealed record FileChangesDto(IReadOnlyList<string> Added, IReadOnlyList<string> Modified, IReadOnlyList<string> Removed);

/// <summary>A stored commit; <c>sequence</c> is the order Hubgate stored it in (the listing's cursor).</summary>
internal sealed record CommitDto(
    long Sequence, string Sha, string? Message, DateTimeOffset? Timestamp, PersonDto Author, PersonDto Committer, string? Url, string? Ref,
    FileChangesDto Files, DateTimeOffset StoredAt)
{
    public static CommitDto From(CommitEntity c) => new(
        c.Id, c.Sha, c.Message, c.Timestamp, new PersonDto(c.AuthorName, c.AuthorEmail, c.AuthorUsername),
        new PersonDto(c.CommitterName, c.CommitterEmail, c.CommitterUsername), c.Url, c.Ref,
        new FileChangesDto(
            c.FileChanges.Where(f => f.Kind == FileChangeKind.Added).Select(f => f.Path).ToList(),
            c.FileChanges.Where(f => f.Kind == FileChangeKind.Modified).Select(f => f.Path).ToList(),
            c.FileChanges.Where(f => f.Kind == FileChangeKind.Removed).Select(f => f.Path).ToList()),
        c.CreatedAt);
}

internal sealed record PullRequestDto(
    int Number, long? GitHubId, string? Title, string? Body, PullRequestState State, bool Draft, string? Author, string? HeadSha, string? HeadRef,
    string? BaseRef, string? MergeCommitSha, DateTimeOffset? OpenedAt, DateTimeOffset? ClosedAt, DateTimeOffset? MergedAt, DateTimeOffset? UpdatedAt)
{
    public static readonly System.Linq.Expressions.Expression<Func<PullRequestEntity, PullRequestDto>> Projection = p => new PullRequestDto(
        p.Number, p.GitHubId, p.Title, p.Body, p.State, p.Draft, p.AuthorLogin, p.HeadSha, p.HeadRef, p.BaseRef, p.MergeCommitSha, p.OpenedAt,
        p.ClosedAt, p.MergedAt, p.GitHubUpdatedAt);
}

/// <summary>A page of installations; without an App filter the next page starts after (<c>next_after_app</c>, <c>next_after</c>).</summary>
internal sealed record InstallationPage(IReadOnlyList<InstallationDto> Installations, long? NextAfter, string? NextAfterApp);

internal sealed record RepositoryPage(IReadOnlyList<RepositoryDto> Repositories, long? NextAfter);

internal sealed record CommitPage(IReadOnlyList<CommitDto> Commits, long? NextBefore);

internal sealed record PullRequestPage(IReadOnlyList<PullRequestDto> Pulls, int? NextBefore);
