using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace Hubgate.Server.Access;

/// <summary>
/// An authenticated caller: its name (in logs and metrics; never its key) and its policy. Policies apply to the App
/// named <see cref="ClientPolicy.DefaultApp"/>; a client's grants are looked up by (App, installation) so that more
/// Apps can be added to the key.
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
    /// <summary>The App every policy applies to today (<c>GitHub:*</c>).</summary>
    public const string DefaultApp = "default";

    /// <summary>Every right: the client <c>admin</c> that <c>Hubgate:ApiKey</c> stands for.</summary>
    public static readonly ClientPolicy Everything = new(null, null, null, null, AppRight.Admin, Tokens: true, Admin: true);

    public bool AllInstallations => InstallationIds is null;

    public bool AllRepositories => RepositoryIds is null;

    /// <summary><c>Permissions</c>: the most the client may use (name → read, write or admin); null = the installation's own.</summary>
    public FrozenDictionary<string, string>? Permissions { get; init; }

    /// <summary>True when the client's installation tokens are minted for less than the installation has.</summary>
    public bool IsScoped => !AllRepositories || Permissions is not null;

    /// <summary>The token scope per installation, worked out once (<see cref="ClientTokenScopes"/>); dropped with the policy on reload.</summary>
    internal ConcurrentDictionary<long, ResolvedScope> Scopes { get; } = new();
}
