namespace Hubgate.Server.Access;

/// <summary>
/// <c>Hubgate:Clients:{name}</c>: one caller of the proxy and the API, its key and what it may do. Everything not
/// granted is refused (403) before a request reaches GitHub.
/// </summary>
public sealed class ClientOptions
{
    /// <summary><c>Key</c>: the bearer key in plain text (development; prefer <see cref="KeySha256"/>).</summary>
    public string? Key { get; set; }

    /// <summary><c>KeySha256</c>: hex of the SHA-256 of the key's UTF-8 bytes, so configuration holds no usable secret.</summary>
    public string? KeySha256 { get; set; }

    /// <summary><c>Installations</c>: installation ids or account logins; absent or <c>*</c> = all.</summary>
    public List<string> Installations { get; set; } = [];

    /// <summary><c>Repositories</c>: <c>owner/name</c> or repository ids; absent or <c>*</c> = all the installation has.</summary>
    public List<string> Repositories { get; set; } = [];

    /// <summary><c>Permissions</c>: the most the client may use, as GitHub names them (<c>contents=read</c>).</summary>
    public Dictionary<string, string> Permissions { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// <c>App</c>: the GitHub App (its name in Hubgate) the client is held to; absent = <c>default</c>. Its proxy routes,
    /// installations, repositories and vended tokens are that App's only. What it may do as that App is <see cref="AppAccess"/>.
    /// </summary>
    public string? App { get; set; }

    /// <summary><c>AppAccess</c>: what the client may do as its App on <c>/proxy/app/</c> (<c>/proxy/apps/{app}/app/</c>).</summary>
    public AppRight? AppAccess { get; set; }

    /// <summary>The App the client is held to: <see cref="App"/>, or <c>default</c> when absent.</summary>
    public string AppName => string.IsNullOrWhiteSpace(App) ? Hubgate.Apps.GitHubApp.DefaultName : App.Trim();

    /// <summary>What the client may do as its App: <see cref="AppAccess"/>, else none.</summary>
    public AppRight Access => AppAccess ?? AppRight.None;

    /// <summary>True when <see cref="App"/> holds a right (<c>none</c>, <c>read</c>, <c>admin</c>) rather than an App's name: a mistake worth naming.</summary>
    internal bool AppLooksLikeARight => Enum.TryParse<AppRight>(App?.Trim(), ignoreCase: true, out _) && !int.TryParse(App, out _);

    /// <summary><c>Tokens</c>: may have installation tokens vended to it.</summary>
    public bool Tokens { get; set; }

    /// <summary><c>Admin</c>: may use the management API (<c>/api</c>) and the dashboard.</summary>
    public bool Admin { get; set; }

    /// <summary>
    /// <c>Streams</c>: the stream subscriptions (their names) whose deliveries the client may read and acknowledge
    /// (<c>/api/subscriptions/{name}/events</c> and <c>/ack</c>); nothing else of the management API. Absent = none.
    /// </summary>
    public List<string> Streams { get; set; } = [];
}

/// <summary>What a client may do as the GitHub App.</summary>
public enum AppRight
{
    /// <summary>Nothing: every <c>/proxy/app/</c> request is refused.</summary>
    None,

    /// <summary>GET and HEAD on App routes (list installations, find the installation of a repository).</summary>
    Read,

    /// <summary>Everything, including minting tokens, the webhook configuration and deleting or suspending installations.</summary>
    Admin,
}
