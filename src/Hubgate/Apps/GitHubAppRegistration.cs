namespace Hubgate.Apps;

/// <summary>
/// An App added at run time (from a manifest conversion or an existing registration), as the database keeps it
/// (secrets decrypted only in memory). <see cref="GitHubApps.Register"/> makes it live without a restart.
/// </summary>
/// <param name="Name">Hubgate's name for it (<c>[a-z0-9-]{1,64}</c>).</param>
/// <param name="AppId">GitHub's numeric App id.</param>
/// <param name="ClientId">The App's client id, when known.</param>
/// <param name="ClientSecret">The App's client secret, when known (from a manifest conversion).</param>
/// <param name="PrivateKeyPem">The App's RSA private key (PEM, PKCS#1 or PKCS#8).</param>
/// <param name="ApiBaseUrl"><c>https://api.github.com/</c> or <c>https://HOST/api/v3/</c>.</param>
/// <param name="WebBaseUrl">The host's web root, when it cannot be derived from <paramref name="ApiBaseUrl"/>.</param>
/// <param name="WebhookSecret">The primary webhook secret.</param>
/// <param name="AdditionalWebhookSecrets">Older secrets still accepted during a rotation.</param>
/// <param name="Slug">GitHub's URL name for the App.</param>
public sealed record GitHubAppRegistration(
    string Name,
    long AppId,
    string? ClientId,
    string? ClientSecret,
    string PrivateKeyPem,
    Uri ApiBaseUrl,
    Uri? WebBaseUrl,
    string? WebhookSecret,
    IReadOnlyList<string> AdditionalWebhookSecrets,
    string? Slug);
