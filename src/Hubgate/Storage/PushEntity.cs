namespace Hubgate.Storage;

/// <summary>A push to a repository: the ref, what it moved from and to, and its head commit. One per delivery.</summary>
internal class PushEntity
{
    public long Id { get; set; }
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public long RepositoryId { get; set; }
    /// <summary>The delivery that reported it (unique: a delivery processed twice records one push).</summary>
    public required string DeliveryId { get; set; }
    public required string Ref { get; set; }
    public string? Before { get; set; }
    public string? After { get; set; }
    public string? HeadCommitSha { get; set; }
    public bool Created { get; set; }
    /// <summary>A branch or tag deletion: no commits are stored for it.</summary>
    public bool Deleted { get; set; }
    public bool Forced { get; set; }
    public string? PusherName { get; set; }
    /// <summary>How many of the push's commits were new to Hubgate when it was processed.</summary>
    public int CommitsStored { get; set; }
    /// <summary>
    /// How many commits were fetched through the compare API because GitHub cut the payload's list at
    /// <see cref="Hubgate.Integrations.PushCommits.PayloadLimit"/>; 0 when the payload held them all.
    /// </summary>
    public int CommitsFetched { get; set; }
    /// <summary>When GitHub says the push happened (<c>repository.pushed_at</c>); null when the payload does not say.</summary>
    public DateTimeOffset? PushedAt { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
}
