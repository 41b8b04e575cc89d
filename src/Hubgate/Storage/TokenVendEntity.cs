namespace Hubgate.Storage;

/// <summary>One installation token handed to a caller (the audit of token vending). Never holds the token.</summary>
internal class TokenVendEntity
{
    public long Id { get; set; }
    /// <summary>The client it was vended to (<c>cli</c> for <c>hubgate token</c>).</summary>
    public required string Client { get; set; }
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    public long InstallationId { get; set; }
    /// <summary>The token's scope as its canonical key (empty: the installation's own scope).</summary>
    public required string Scope { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset VendedAt { get; set; }
}
