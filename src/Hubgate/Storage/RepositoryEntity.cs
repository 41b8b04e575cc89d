namespace Hubgate.Storage;

/// <summary>A repository an installation can access. Never deleted: disabled repositories keep their history.</summary>
public class RepositoryEntity
{
    /// <summary>GitHub's repository id.</summary>
    public long Id { get; set; }
    public long InstallationId { get; set; }
    public required string Name { get; set; }
    public required string FullName { get; set; }
    public string? OwnerLogin { get; set; }
    public bool Private { get; set; }
    public string? DefaultBranch { get; set; }
    public RepositoryStatus Status { get; set; } = RepositoryStatus.Active;
    /// <summary>The ref and head commit of the last push seen.</summary>
    public string? LastPushRef { get; set; }
    public string? LastPushSha { get; set; }
    public DateTimeOffset? LastPushAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public enum RepositoryStatus
{
    Active,
    Disabled,
    Archived,
    Deleted,
}
