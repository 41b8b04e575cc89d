namespace Hubgate.Authentication;

/// <summary>An installation access token and what GitHub said about it. <see cref="ToString"/> never shows the token.</summary>
/// <param name="Token">The secret itself: an opaque string of any length.</param>
/// <param name="ExpiresAt">When it expires on our clock; null when GitHub did not say (refreshed on next use).</param>
/// <param name="MintedAt">When it was minted, on our clock.</param>
/// <param name="PermissionsJson">The permissions GitHub granted it (JSON object), if reported.</param>
/// <param name="RepositorySelection"><c>all</c> or <c>selected</c>, if reported.</param>
public sealed record InstallationToken(
    string Token,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset MintedAt,
    string? PermissionsJson,
    string? RepositorySelection)
{
    /// <summary>The <c>Authorization</c> header value, built once per token rather than once per request.</summary>
    internal string AuthorizationHeader { get; } = "Bearer " + Token;

    /// <summary>The expiry and mint times only: the token itself never reaches a log.</summary>
    public override string ToString() => $"InstallationToken {{ ExpiresAt = {ExpiresAt:O}, MintedAt = {MintedAt:O} }}";
}
