namespace Hubgate.Storage;

/// <summary>A GitHub App installation and the cached state of its installation token.</summary>
internal class InstallationEntity
{
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    /// <summary>GitHub's installation id.</summary>
    public long Id { get; set; }
    public long? AppId { get; set; }
    public string? AccountLogin { get; set; }
    public long? AccountId { get; set; }
    public string? AccountType { get; set; }
    public string? TargetType { get; set; }
    public string? RepositorySelection { get; set; }
    /// <summary>The installation's permissions as GitHub reports them (JSON object).</summary>
    public string? PermissionsJson { get; set; }
    /// <summary>The events the installation subscribes to (JSON array).</summary>
    public string? EventsJson { get; set; }
    public InstallationStatus Status { get; set; } = InstallationStatus.Active;
    /// <summary>When GitHub reported it suspended (null while active).</summary>
    public DateTimeOffset? SuspendedAt { get; set; }
    /// <summary>When the App was uninstalled (a <c>deleted</c> event, or sync no longer finding it).</summary>
    public DateTimeOffset? DeletedAt { get; set; }
    /// <summary>
    /// The time of the event that last decided <see cref="Status"/> and <see cref="SuspendedAt"/> (a payload time, else
    /// when the delivery was received; a sync's own time): an event older than this does not change them.
    /// </summary>
    public DateTimeOffset? StateEventAt { get; set; }
    /// <summary>The last time a sync saw it on GitHub.</summary>
    public DateTimeOffset? SyncedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The installation token, encrypted with Data Protection. Never the plaintext.</summary>
    public string? TokenCiphertext { get; set; }
    /// <summary>When the cached token expires; null means "refresh on next use".</summary>
    public DateTimeOffset? TokenExpiresAt { get; set; }
    /// <summary>When the cached token was minted (used to recognise GitHub's replication lag).</summary>
    public DateTimeOffset? TokenMintedAt { get; set; }
    /// <summary>Permissions granted to the cached token (JSON object).</summary>
    public string? TokenPermissionsJson { get; set; }
    public string? TokenRepositorySelection { get; set; }
}

internal enum InstallationStatus
{
    Active,
    Suspended,
    Deleted,
}
