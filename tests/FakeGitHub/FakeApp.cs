using System.Security.Cryptography;

namespace FakeGitHub;

/// <summary>
/// A GitHub App registered on the fake host: the primary App of <see cref="FakeGitHubOptions"/>, one added with
/// <see cref="FakeGitHubServer.AddApp"/>, or one created by the manifest flow. Its key verifies its JWTs, and its JWTs
/// see only its own installations and delivery log.
/// </summary>
public sealed record FakeApp
{
    public required long Id { get; init; }
    public required string Slug { get; init; }
    public required string Name { get; init; }
    public string NodeId => "A_kwDO" + Convert.ToBase64String(BitConverter.GetBytes(Id)).TrimEnd('=');
    public required string ClientId { get; init; }

    /// <summary>The OAuth client secret (null for the primary App, whose secret the tests never needed).</summary>
    public string? ClientSecret { get; init; }

    public required string WebhookSecret { get; init; }

    /// <summary>The App's private key as GitHub hands it out (PKCS#1 PEM).</summary>
    public string PrivateKeyPem => Key.ExportRSAPrivateKeyPem();

    public required string OwnerLogin { get; init; }
    public long OwnerId { get; init; }

    /// <summary><c>User</c> or <c>Organization</c>.</summary>
    public string OwnerType { get; init; } = "Organization";

    public string? Description { get; init; }

    /// <summary>The App's homepage (the manifest's <c>url</c>).</summary>
    public string? ExternalUrl { get; init; }

    public string? HookUrl { get; init; }
    public bool HookActive { get; init; } = true;
    public string? RedirectUrl { get; init; }
    public string? SetupUrl { get; init; }
    public bool SetupOnUpdate { get; init; }
    public bool RequestOAuthOnInstall { get; init; }
    public IReadOnlyList<string> CallbackUrls { get; init; } = [];
    public bool Public { get; init; }
    public IReadOnlyDictionary<string, string> Permissions { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Events { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }

    internal RSA Key { get; init; } = null!;

    /// <summary>False for the key every fake shares, which is never disposed.</summary>
    internal bool OwnsKey { get; init; }

    /// <summary>Names the App only: a test's failure message must not print its secrets or key.</summary>
    public override string ToString() => $"App {Id} ({Slug})";
}

/// <summary>One POST of a manifest to the fake's web form (<c>/settings/apps/new</c>), accepted or refused.</summary>
public sealed record FakeManifestRequest(
    string Path,
    string? Organization,
    string? Manifest,
    string? State,
    int Status,
    IReadOnlyList<string> Errors,
    long? AppId,
    DateTimeOffset At);
