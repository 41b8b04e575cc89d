namespace Hubgate.Storage;

/// <summary>
/// A GitHub App added at run time (<c>hubgate apps create|add</c>, <c>/api/apps</c>, the dashboard's New App page). Its
/// secrets are stored encrypted with Data Protection (purpose <c>Hubgate.App.v1</c>); a removed App keeps its row
/// (<see cref="RemovedAt"/>) so that the history recorded under its name stays explained.
/// </summary>
internal class AppEntity
{
    /// <summary>Hubgate's name for the App (<c>[a-z0-9-]{1,64}</c>), unique across configuration and the database.</summary>
    public required string Name { get; set; }

    /// <summary>GitHub's numeric App id.</summary>
    public long AppId { get; set; }

    public string? ClientId { get; set; }

    /// <summary>GitHub's URL name for the App (<c>/apps/{slug}</c>).</summary>
    public string? Slug { get; set; }

    /// <summary><c>https://api.github.com/</c> or <c>https://HOST/api/v3/</c>.</summary>
    public required string ApiBaseUrl { get; set; }

    /// <summary>The host's web root (<c>https://github.com/</c>, <c>https://HOST/</c>), when known.</summary>
    public string? WebBaseUrl { get; set; }

    /// <summary>The account that owns the App's registration on GitHub (a user or organization login), when known.</summary>
    public string? Owner { get; set; }

    /// <summary>Who added it (a client's name, or the command that did).</summary>
    public string? CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it was removed; null while it is live.</summary>
    public DateTimeOffset? RemovedAt { get; set; }

    /// <summary>The PEM private key, encrypted.</summary>
    public required string PrivateKeyCiphertext { get; set; }

    /// <summary>The client secret, encrypted, when known.</summary>
    public string? ClientSecretCiphertext { get; set; }

    /// <summary>A JSON array of webhook secrets (primary first), encrypted as one value.</summary>
    public string? WebhookSecretsCiphertext { get; set; }
}

/// <summary>
/// One App manifest flow in progress: the SHA-256 of its <c>state</c> (never the state itself), who started it and the
/// App it will create, until it is used once or expires. Kept in the database so that any replica can answer GitHub's
/// return, and the command that started it can see its outcome.
/// </summary>
internal class AppManifestStateEntity
{
    /// <summary>Lower-case hex of the SHA-256 of the state's UTF-8 bytes.</summary>
    public required string StateSha256 { get; set; }

    /// <summary>The App's name in Hubgate (and on GitHub, which may ask the user to change it there).</summary>
    public required string Name { get; set; }

    /// <summary>The organization to register it under; null for the signed-in user's account.</summary>
    public string? Organization { get; set; }

    public required string WebBaseUrl { get; set; }

    public required string ApiBaseUrl { get; set; }

    /// <summary>The admin client that started the flow.</summary>
    public required string CreatedBy { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>
    /// SHA-256 of the nonce in the browser's <c>hubgate.manifest</c> cookie, set when the start page was first opened:
    /// GitHub's return is accepted from that browser only.
    /// </summary>
    public string? BrowserSha256 { get; set; }

    /// <summary>When GitHub's return used the state (it is never accepted again).</summary>
    public DateTimeOffset? UsedAt { get; set; }

    /// <summary>When the flow ended (App stored, or failed: <see cref="Error"/>).</summary>
    public DateTimeOffset? CompletedAt { get; set; }

    /// <summary>Why the flow failed after GitHub's return, for the command waiting on it.</summary>
    public string? Error { get; set; }
}
