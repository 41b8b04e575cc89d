namespace Hubgate.Storage;

/// <summary>A repository an installation can access. Never deleted: disabled repositories keep their history.</summary>
internal class RepositoryEntity
{
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    /// <summary>GitHub's repository id.</summary>
    public long Id { get; set; }
    public long InstallationId { get; set; }
    public required string Name { get; set; }
    public required string FullName { get; set; }
    public string? OwnerLogin { get; set; }
    public bool Private { get; set; }
    public string? DefaultBranch { get; set; }
    public RepositoryStatus Status { get; set; } = RepositoryStatus.Active;
    /// <summary>
    /// The time of the event that last decided <see cref="Status"/> (a payload time, else when the delivery was received;
    /// a sync's own time): an event older than this does not change it.
    /// </summary>
    public DateTimeOffset? StateEventAt { get; set; }
    /// <summary>The ref and head commit of the newest branch push (by GitHub's <c>repository.pushed_at</c>); tag pushes and deletions do not count.</summary>
    public string? LastPushRef { get; set; }
    public string? LastPushSha { get; set; }
    /// <summary>When that push happened (GitHub's <c>repository.pushed_at</c>, else when its delivery was received).</summary>
    public DateTimeOffset? LastPushAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

internal enum RepositoryStatus
{
    Active,
    Disabled,
    Archived,
    Deleted,
}
