namespace Hubgate.Storage;

/// <summary>A commit seen in a push. Inserted once per (App, repository, sha) and never overwritten.</summary>
internal class CommitEntity
{
    public long Id { get; set; }
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public long RepositoryId { get; set; }
    public required string Sha { get; set; }
    public string? Message { get; set; }
    public DateTimeOffset? Timestamp { get; set; }
    public string? AuthorName { get; set; }
    public string? AuthorEmail { get; set; }
    public string? AuthorUsername { get; set; }
    public string? CommitterName { get; set; }
    public string? CommitterEmail { get; set; }
    public string? CommitterUsername { get; set; }
    public string? Url { get; set; }
    public string? Ref { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<CommitFileChangeEntity> FileChanges { get; set; } = [];
}

internal class CommitFileChangeEntity
{
    public long Id { get; set; }
    public long CommitId { get; set; }
    public required string Path { get; set; }
    public FileChangeKind Kind { get; set; }
}

internal enum FileChangeKind
{
    Added,
    Modified,
    Removed,
}
