namespace Hubgate.Storage;

/// <summary>A pull request, upserted by (App, repository, number) on every action.</summary>
internal class PullRequestEntity
{
    public long Id { get; set; }
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public long RepositoryId { get; set; }
    public int Number { get; set; }
    public long? GitHubId { get; set; }
    public string? Title { get; set; }
    public string? Body { get; set; }
    public PullRequestState State { get; set; }
    public bool Draft { get; set; }
    public string? AuthorLogin { get; set; }
    public string? HeadSha { get; set; }
    public string? HeadRef { get; set; }
    public string? BaseRef { get; set; }
    public string? MergeCommitSha { get; set; }
    public DateTimeOffset? OpenedAt { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    public DateTimeOffset? MergedAt { get; set; }
    /// <summary>GitHub's <c>updated_at</c> of the version stored: an older event arriving late does not roll it back.</summary>
    public DateTimeOffset? GitHubUpdatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal enum PullRequestState
{
    Open,
    Closed,
    Merged,
}
