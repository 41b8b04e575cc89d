using System.Text;
using System.Text.RegularExpressions;
using Hubgate.Authentication;

namespace Hubgate.Apps;

/// <summary>Where an App's settings come from.</summary>
public enum GitHubAppSource
{
    /// <summary>Configuration: today's <c>GitHub:*</c> keys (App <c>default</c>) or <c>GitHub:Apps:{name}:*</c>.</summary>
    Configuration,

    /// <summary>Created or added at run time (manifest flow, <c>hubgate apps add</c>) and stored, encrypted, in the database.</summary>
    Database,
}

/// <summary>
/// One GitHub App on one GitHub host: its settings and the services that act as it — its JWTs, its installation
/// tokens, its view of GitHub's clock and its rate limits. Installation ids are unique only within one GitHub
/// instance, so everything Hubgate keeps about installations is keyed by the App's <see cref="Name"/>.
/// </summary>
public sealed partial class GitHubApp : IDisposable
{
    /// <summary>The App that today's single-App keys (<c>GitHub:AppId</c>, …) and routes configure.</summary>
    public const string DefaultName = "default";

    private volatile byte[][] _webhookSecrets;

    internal GitHubApp(string name, GitHubAppOptions options, GitHubAppSource source, string? slug, GitHubAppServices services)
    {
        Name = name;
        Options = options;
        Source = source;
        Slug = slug;
        Endpoints = options.Endpoints;
        _webhookSecrets = EncodeSecrets(options);
        Clock = services.CreateClock(name);
        Jwts = new AppJwtFactory(options, Clock);
        RateLimits = new GitHubRateLimits(name);
        Tokens = services.CreateTokenProvider(name, options, Clock);
    }

    /// <summary>The App's name in Hubgate (<c>[a-z0-9-]{1,64}</c>): in routes, keys, metrics and the CLI's <c>--app</c>.</summary>
    public string Name { get; }

    /// <summary>The App's settings (identity, key, host, webhook secrets, timeouts).</summary>
    public GitHubAppOptions Options { get; }

    /// <summary>Where the App was registered: configuration or the database.</summary>
    public GitHubAppSource Source { get; }

    /// <summary>The slug GitHub gave the App (its URL name), when known.</summary>
    public string? Slug { get; }

    /// <summary>True when an App id (or client id) and a private key are set: Hubgate can act as the App.</summary>
    public bool IsConfigured => Options.HasAppCredentials;

    /// <summary>The REST API base, ending with '/'.</summary>
    public Uri ApiBaseUrl => Options.NormalizedApiBaseUrl;

    /// <summary>
    /// The host's web root (App settings, manifest and installation pages): <c>https://github.com/</c> for
    /// <c>api.github.com</c>, <c>https://HOST/</c> for <c>https://HOST/api/v3/</c>, else <c>WebBaseUrl</c> or the API's origin.
    /// </summary>
    public Uri WebBaseUrl => Options.WebBaseUrl ?? DeriveWebBaseUrl(ApiBaseUrl);

    /// <summary>The webhook secrets as UTF-8 bytes, primary first (rotation: all are accepted). Empty when none is set.</summary>
    internal IReadOnlyList<byte[]> WebhookSecrets => _webhookSecrets;

    /// <summary>Signs and caches the App's JWTs.</summary>
    public AppJwtFactory Jwts { get; }

    /// <summary>GitHub's clock as this App's host sees it (offset learned from rejected JWTs).</summary>
    internal GitHubClock Clock { get; }

    /// <summary>The last rate-limit figures GitHub reported for this App and its installations.</summary>
    public GitHubRateLimits RateLimits { get; }

    /// <summary>This App's installation tokens: cached, persisted, refreshed ahead, minted once.</summary>
    public InstallationTokenProvider Tokens { get; }

    internal GitHubEndpoints Endpoints { get; }

    /// <summary>True when <paramref name="name"/> is a valid App name: 1 to 64 of <c>a-z</c>, <c>0-9</c> and <c>-</c>.</summary>
    internal static bool IsValidName(string? name) => name is not null && NamePattern().IsMatch(name);

    /// <summary>The web root of the host whose REST API is at <paramref name="apiBase"/>.</summary>
    internal static Uri DeriveWebBaseUrl(Uri apiBase)
    {
        ArgumentNullException.ThrowIfNull(apiBase);
        if (apiBase.IdnHost.Equals("api.github.com", StringComparison.OrdinalIgnoreCase))
        {
            return new Uri("https://github.com/");
        }

        if (apiBase.IdnHost.StartsWith("api.", StringComparison.OrdinalIgnoreCase) && apiBase.IdnHost.EndsWith(".ghe.com", StringComparison.OrdinalIgnoreCase))
        {
            return new UriBuilder(apiBase) { Host = apiBase.IdnHost["api.".Length..], Path = "/" }.Uri;
        }

        return new Uri(apiBase.GetLeftPart(UriPartial.Authority) + "/");
    }

    /// <summary>Takes new webhook secrets (configuration reloaded): no restart needed to rotate them.</summary>
    internal void UpdateWebhookSecrets(GitHubAppOptions options) => _webhookSecrets = EncodeSecrets(options);

    /// <summary>Releases the App's signing key and its token cache.</summary>
    public void Dispose()
    {
        Jwts.Dispose();
        RateLimits.Dispose();
    }

    private static byte[][] EncodeSecrets(GitHubAppOptions options) => [.. options.AllWebhookSecrets().Select(Encoding.UTF8.GetBytes)];

    [GeneratedRegex("^[a-z0-9-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

/// <summary>The App named in a request, route or command is not one Hubgate knows (or it was removed).</summary>
public sealed class GitHubAppNotFoundException(string name)
    : HubgateConfigurationException($"No GitHub App named '{name}' is configured or stored. Configure it under GitHub:Apps:{name}, or add it with 'hubgate apps add {name}' / 'hubgate apps create {name}'.")
{
    /// <summary>The name asked for.</summary>
    public string Name { get; } = name;
}
