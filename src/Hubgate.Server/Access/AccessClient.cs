using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace Hubgate.Server.Access;

/// <summary>
/// An authenticated caller: its name (in logs and metrics; never its key) and its policy, which holds it to one App
/// (<see cref="ClientPolicy.AppName"/>): its installations, repositories and permissions are that App's.
/// </summary>
internal sealed record AccessClient(string Name, byte[] KeyHash, ClientPolicy Policy);

/// <summary>A client's rights, compiled from <see cref="ClientOptions"/> (null sets mean "all").</summary>
internal sealed record ClientPolicy(
    FrozenSet<long>? InstallationIds,
    FrozenSet<string>? InstallationLogins,
    FrozenSet<long>? RepositoryIds,
    FrozenSet<string>? RepositoryNames,
    AppRight App,
    bool Tokens,
    bool Admin)
{
    /// <summary>Every right, on every App: the client <c>admin</c> that <c>Hubgate:ApiKey</c> stands for.</summary>
    public static readonly ClientPolicy Everything = new(null, null, null, null, AppRight.Admin, Tokens: true, Admin: true) { AppName = null };

    /// <summary><c>App</c>: the one App whose routes, installations and tokens the client may use; null = every App (the admin key).</summary>
    public string? AppName { get; init; } = Hubgate.Apps.GitHubApp.DefaultName;

    /// <summary>True when the client may act for the App named <paramref name="app"/>.</summary>
    public bool Allows(string app) => AppName is null || AppName == app;

    public bool AllInstallations => InstallationIds is null;

    public bool AllRepositories => RepositoryIds is null;

    /// <summary><c>Permissions</c>: the most the client may use (name → read, write or admin); null = the installation's own.</summary>
    public FrozenDictionary<string, string>? Permissions { get; init; }

    /// <summary><c>Streams</c>: the stream subscriptions the client may read and acknowledge (besides an admin, who may read every one).</summary>
    public FrozenSet<string> Streams { get; init; } = FrozenSet<string>.Empty;

    /// <summary>True when the client may read and acknowledge the stream subscription <paramref name="subscription"/>.</summary>
    public bool MayRead(string subscription) => Admin || Streams.Contains(subscription);

    /// <summary>True when the client's installation tokens are minted for less than the installation has.</summary>
    public bool IsScoped => !AllRepositories || Permissions is not null;

    /// <summary>The token scope per (App, installation), worked out once (<see cref="ClientTokenScopes"/>); dropped with the policy on reload.</summary>
    internal ConcurrentDictionary<(string App, long InstallationId), ResolvedScope> Scopes { get; } = new();
}
