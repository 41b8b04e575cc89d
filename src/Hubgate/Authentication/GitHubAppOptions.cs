namespace Hubgate.Authentication;

/// <summary>
/// Configuration section <c>GitHub</c>: who the App is and where GitHub's API lives.
/// Environment variables use <c>__</c> (<c>GitHub__AppId</c>).
/// </summary>
public sealed class GitHubAppOptions
{
    /// <summary>The configuration section of the default App.</summary>
    public const string SectionName = "GitHub";

    /// <summary><c>GitHub:AppId</c>: the App's numeric id (the JWT issuer when no client id is set).</summary>
    public long? AppId { get; set; }

    /// <summary><c>GitHub:ClientId</c>: the App's client id; the JWT issuer when set (see <see cref="JwtIssuer"/>).</summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// <c>GitHub:JwtIssuer</c>: <c>Auto</c> (default: the client id, but the App id on hosts other than github.com
    /// when both are set, since GitHub Enterprise Server 3.13 and older accept only the App id), <c>AppId</c> or <c>ClientId</c>.
    /// </summary>
    public GitHubJwtIssuer JwtIssuer { get; set; } = GitHubJwtIssuer.Auto;

    /// <summary><c>GitHub:PrivateKeyPath</c>: a PEM file (PKCS#1 as GitHub hands it out, or PKCS#8).</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary><c>GitHub:PrivateKey</c>: the PEM text itself; literal <c>\n</c> sequences become newlines.</summary>
    public string? PrivateKey { get; set; }

    /// <summary><c>GitHub:ApiBaseUrl</c>: <c>https://api.github.com/</c>, or <c>https://HOST/api/v3/</c> for GitHub Enterprise Server.</summary>
    public Uri ApiBaseUrl { get; set; } = new("https://api.github.com/");

    /// <summary>
    /// <c>GitHub:WebBaseUrl</c>: the host's web root (App settings and installation pages), when it cannot be derived
    /// from <see cref="ApiBaseUrl"/> (<c>https://github.com/</c> for github.com, <c>https://HOST/</c> for GHES).
    /// </summary>
    public Uri? WebBaseUrl { get; set; }

    /// <summary><c>GitHub:WebhookSecret</c>: the secret GitHub signs this App's deliveries with.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary><c>GitHub:AdditionalWebhookSecrets</c>: older secrets still accepted while a rotation is under way.</summary>
    public IList<string> AdditionalWebhookSecrets { get; } = [];

    /// <summary><c>GitHub:TokenRefreshAhead</c>: refresh an installation token this long before it expires (default 5 minutes).</summary>
    public TimeSpan TokenRefreshAhead { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>GitHub:MaxRateLimitWait</c>: how long one request may wait in all for rate limits — a primary limit's reset,
    /// a secondary limit's <c>Retry-After</c> or back-off — instead of failing (default 0: fail at once). The waits run
    /// outside <see cref="RequestTimeout"/>.
    /// </summary>
    public TimeSpan MaxRateLimitWait { get; set; } = TimeSpan.Zero;

    /// <summary><c>GitHub:RequestTimeout</c>: how long one attempt of a GitHub request may take (default 10 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>GitHub:RetryDelay</c>: the first pause before retrying a 5xx or timeout; doubles each retry (default 1 s, 3 retries).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Where these settings live in configuration, for messages: <c>GitHub</c> for App <c>default</c>,
    /// <c>GitHub:Apps:{name}</c> for a named App, or the App's name for one stored in the database.
    /// </summary>
    internal string ConfigurationPrefix { get; set; } = SectionName;

    /// <summary>Every non-empty webhook secret, primary first, without repeats.</summary>
    public IReadOnlyList<string> AllWebhookSecrets()
    {
        var all = new List<string>(1 + AdditionalWebhookSecrets.Count);
        foreach (var secret in AdditionalWebhookSecrets.Prepend(WebhookSecret))
        {
            if (!string.IsNullOrEmpty(secret) && !all.Contains(secret))
            {
                all.Add(secret);
            }
        }

        return all;
    }

    /// <summary>True when enough is configured to act as the App (an id or client id, and a key).</summary>
    public bool HasAppCredentials =>
        (AppId is > 0 || !string.IsNullOrWhiteSpace(ClientId)) &&
        (!string.IsNullOrWhiteSpace(PrivateKeyPath) || !string.IsNullOrWhiteSpace(PrivateKey));

    /// <summary>Throws <see cref="GitHubAppNotConfiguredException"/>, naming the missing keys, unless <see cref="HasAppCredentials"/>.</summary>
    public void EnsureAppCredentials()
    {
        if (!HasAppCredentials)
        {
            throw new GitHubAppNotConfiguredException(MissingCredentialKeys());
        }
    }

    /// <summary>The configuration keys still missing before the App can authenticate, for error messages.</summary>
    public IReadOnlyList<string> MissingCredentialKeys()
    {
        var missing = new List<string>(2);
        if (AppId is not > 0 && string.IsNullOrWhiteSpace(ClientId))
        {
            missing.Add($"{ConfigurationPrefix}:AppId (or {ConfigurationPrefix}:ClientId)");
        }

        if (string.IsNullOrWhiteSpace(PrivateKeyPath) && string.IsNullOrWhiteSpace(PrivateKey))
        {
            missing.Add($"{ConfigurationPrefix}:PrivateKeyPath (or {ConfigurationPrefix}:PrivateKey)");
        }

        return missing;
    }

    /// <summary>True when the JWT's <c>iss</c> is the numeric App id rather than the client id (<see cref="JwtIssuer"/>).</summary>
    internal bool IssuerIsAppId => JwtIssuer switch
    {
        GitHubJwtIssuer.AppId => true,
        GitHubJwtIssuer.ClientId => false,
        _ => string.IsNullOrWhiteSpace(ClientId) || (AppId is > 0 && !Endpoints.IsGitHubCloud),
    };

    /// <summary>The JWT <c>iss</c> claim as text (see <see cref="IssuerIsAppId"/>).</summary>
    internal string Issuer => IssuerIsAppId
        ? AppId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty
        : ClientId?.Trim() ?? string.Empty;

    /// <summary>Where this host serves REST, GraphQL and uploads.</summary>
    internal GitHubEndpoints Endpoints => GitHubEndpoints.For(NormalizedApiBaseUrl);

    /// <summary>The API base with a trailing slash, so relative paths resolve beneath it.</summary>
    internal Uri NormalizedApiBaseUrl => ApiBaseUrl.AbsoluteUri.EndsWith('/')
        ? ApiBaseUrl
        : new Uri(ApiBaseUrl.AbsoluteUri + "/");
}
