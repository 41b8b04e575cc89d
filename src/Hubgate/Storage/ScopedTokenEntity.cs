namespace Hubgate.Storage;

/// <summary>
/// A persisted installation token minted for a scope narrower than the installation's (some repositories, some
/// permissions): one row per (App, installation, canonical scope). The installation's own token stays on
/// <see cref="InstallationEntity"/>.
/// </summary>
internal class ScopedTokenEntity
{
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public long InstallationId { get; set; }
    /// <summary>The scope's canonical key (sorted repositories, repository ids and permissions).</summary>
    public required string ScopeKey { get; set; }
    /// <summary>The token, encrypted with Data Protection. Never the plaintext.</summary>
    public required string TokenCiphertext { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset MintedAt { get; set; }
    /// <summary>Permissions GitHub granted the token (JSON object).</summary>
    public string? PermissionsJson { get; set; }
    public string? RepositorySelection { get; set; }
}
