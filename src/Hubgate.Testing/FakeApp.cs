using System.Security.Cryptography;

namespace Hubgate.Testing;

/// <summary>
/// A GitHub App registered on the fake host: the primary App of <see cref="FakeGitHubOptions"/>, one added with
/// <see cref="FakeGitHubServer.AddApp"/>, or one created by the manifest flow. Its key verifies its JWTs, and its JWTs
/// see only its own installations and delivery log.
/// </summary>
public sealed record FakeApp
{
    /// <summary>The App id (a JWT's <c>iss</c>, the <c>GitHub:AppId</c> setting).</summary>
    public required long Id { get; init; }

    /// <summary>The App's slug, as in <c>https://github.com/apps/{slug}</c>.</summary>
    public required string Slug { get; init; }

    /// <summary>The App's display name.</summary>
    public required string Name { get; init; }

    internal string NodeId => "A_kwDO" + Convert.ToBase64String(BitConverter.GetBytes(Id)).TrimEnd('=');

    /// <summary>The App's client id (also accepted as a JWT's <c>iss</c>).</summary>
    public required string ClientId { get; init; }

    /// <summary>The OAuth client secret (null for the primary App, whose secret the tests never needed).</summary>
    public string? ClientSecret { get; init; }

    /// <summary>The secret GitHub signs this App's webhook deliveries with.</summary>
    public required string WebhookSecret { get; init; }

    /// <summary>The App's private key as GitHub hands it out (PKCS#1 PEM).</summary>
    public string PrivateKeyPem => Key.ExportRSAPrivateKeyPem();

    /// <summary>The account that owns the App.</summary>
    public required string OwnerLogin { get; init; }

    /// <summary>The owner's account id.</summary>
    public long OwnerId { get; init; }

    /// <summary><c>User</c> or <c>Organization</c>.</summary>
    public string OwnerType { get; init; } = "Organization";

    /// <summary>The App's description.</summary>
    public string? Description { get; init; }

    /// <summary>The App's homepage (the manifest's <c>url</c>).</summary>
    public string? ExternalUrl { get; init; }

    /// <summary>Where GitHub sends the App's webhooks.</summary>
    public string? HookUrl { get; init; }

    internal bool HookActive { get; init; } = true;
    internal string? RedirectUrl { get; init; }
    internal string? SetupUrl { get; init; }
    internal bool SetupOnUpdate { get; init; }
    internal bool RequestOAuthOnInstall { get; init; }
    internal IReadOnlyList<string> CallbackUrls { get; init; } = [];
    internal bool Public { get; init; }

    /// <summary>The permissions the App asks for; an installation made with <see cref="FakeGitHubServer.InstallApp"/> is granted them.</summary>
    public IReadOnlyDictionary<string, string> Permissions { get; init; } = new Dictionary<string, string>();

    /// <summary>The events the App subscribes to.</summary>
    public IReadOnlyList<string> Events { get; init; } = [];

    /// <summary>When the App was registered.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    internal RSA Key { get; init; } = null!;

    /// <summary>False for the key every fake shares, which is never disposed.</summary>
    internal bool OwnsKey { get; init; }

    /// <summary>Names the App only: a test's failure message must not print its secrets or key.</summary>
    public override string ToString() => $"App {Id} ({Slug})";
}

/// <summary>One POST of a manifest to the fake's web form (<c>/settings/apps/new</c>), accepted or refused.</summary>
internal sealed record FakeManifestRequest(
    string Path,
    string? Organization,
    string? Manifest,
    string? State,
    int Status,
    IReadOnlyList<string> Errors,
    long? AppId,
    DateTimeOffset At);
