using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Hubgate.Authentication;

/// <summary>
/// What an installation token is minted for: some of the installation's repositories (bare names or ids) and at most
/// some of its permissions — the <c>repositories</c>, <c>repository_ids</c> and <c>permissions</c> of
/// <c>POST /app/installations/{id}/access_tokens</c>. Canonical: names and permissions are lower-cased and sorted, so
/// one scope has one <see cref="Key"/> however it was written; two scopes are equal when their keys are.
/// <see cref="Full"/> is the installation's own scope (nothing narrowed).
/// </summary>
public sealed class InstallationTokenScope : IEquatable<InstallationTokenScope>
{
    /// <summary>The installation's own repositories and permissions.</summary>
    public static readonly InstallationTokenScope Full = new([], [], []);

    private static readonly string[] Levels = ["read", "write", "admin"];

    private readonly int _hash;

    private InstallationTokenScope(string[] repositories, long[] repositoryIds, KeyValuePair<string, string>[] permissions)
    {
        Repositories = repositories;
        RepositoryIds = repositoryIds;
        Permissions = permissions;
        Key = BuildKey(repositories, repositoryIds, permissions);
        _hash = StringComparer.Ordinal.GetHashCode(Key);
    }

    /// <summary>Bare repository names (no owner), lower-cased and sorted.</summary>
    public IReadOnlyList<string> Repositories { get; }

    /// <summary>Repository ids, sorted.</summary>
    public IReadOnlyList<long> RepositoryIds { get; }

    /// <summary>Permissions as GitHub names them (<c>contents</c> → <c>read</c>), sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Permissions { get; }

    /// <summary>The canonical text of the scope (empty for <see cref="Full"/>); stored with persisted tokens.</summary>
    internal string Key { get; }

    /// <summary>True for the installation's own scope.</summary>
    public bool IsFull => Key.Length == 0;

    /// <summary>True when the token is limited to some repositories.</summary>
    public bool LimitsRepositories => Repositories.Count > 0 || RepositoryIds.Count > 0;

    /// <summary>A canonical scope; <see cref="Full"/> when nothing is narrowed.</summary>
    /// <param name="repositories">Bare names of the installation's repositories (GitHub's <c>repositories</c>).</param>
    /// <param name="repositoryIds">Repository ids (GitHub's <c>repository_ids</c>).</param>
    /// <param name="permissions">Permission name → <c>read</c>, <c>write</c> or <c>admin</c>.</param>
    /// <exception cref="ArgumentException">A name holds a slash or a level is not one GitHub knows.</exception>
    public static InstallationTokenScope Create(
        IEnumerable<string>? repositories, IEnumerable<long>? repositoryIds, IEnumerable<KeyValuePair<string, string>>? permissions)
    {
        var names = (repositories ?? []).Select(r => r.Trim().ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (var name in names)
        {
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"\"{name}\" is not a bare repository name (GitHub scopes a token by names within the installation's account).", nameof(repositories));
            }
        }

        var ids = (repositoryIds ?? []).Distinct().Order().ToArray();
        var grants = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, level) in permissions ?? [])
        {
            var key = name.Trim().ToLowerInvariant();
            var value = level.Trim().ToLowerInvariant();
            if (key.Length == 0 || !Levels.Contains(value))
            {
                throw new ArgumentException($"Permission \"{name}\" = \"{level}\": the level must be read, write or admin.", nameof(permissions));
            }

            grants[key] = value;
        }

        return names.Length == 0 && ids.Length == 0 && grants.Count == 0 ? Full : new InstallationTokenScope(names, ids, [.. grants]);
    }

    /// <summary>
    /// The rank of a permission level (read 1, write 2, admin 3; 0 when unknown), to hold a request to a ceiling.
    /// </summary>
    internal static int Rank(string level) => Array.IndexOf(Levels, level.ToLowerInvariant()) + 1;

    /// <summary>The JSON body of the mint request, null for <see cref="Full"/> (GitHub then grants the installation's scope).</summary>
    internal byte[]? MintRequestBody()
    {
        if (IsFull)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Repositories.Count > 0)
            {
                json.WriteStartArray("repositories");
                foreach (var name in Repositories)
                {
                    json.WriteStringValue(name);
                }

                json.WriteEndArray();
            }

            if (RepositoryIds.Count > 0)
            {
                json.WriteStartArray("repository_ids");
                foreach (var id in RepositoryIds)
                {
                    json.WriteNumberValue(id);
                }

                json.WriteEndArray();
            }

            if (Permissions.Count > 0)
            {
                json.WriteStartObject("permissions");
                foreach (var (name, level) in Permissions)
                {
                    json.WriteString(name, level);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Same repositories and permissions, in any order.</summary>
    public bool Equals(InstallationTokenScope? other) =>
        ReferenceEquals(this, other) || (other is not null && _hash == other._hash && string.Equals(Key, other.Key, StringComparison.Ordinal));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as InstallationTokenScope);

    /// <inheritdoc/>
    public override int GetHashCode() => _hash;

    /// <summary>The scope as a reader would say it, for messages and logs (holds no secret).</summary>
    public override string ToString() => IsFull ? "the installation's own scope" : Describe();

    private string Describe()
    {
        var parts = new List<string>();
        if (Repositories.Count > 0)
        {
            parts.Add("repositories " + string.Join(", ", Repositories));
        }

        if (RepositoryIds.Count > 0)
        {
            parts.Add("repository ids " + string.Join(", ", RepositoryIds.Select(i => i.ToString(CultureInfo.InvariantCulture))));
        }

        if (Permissions.Count > 0)
        {
            parts.Add("permissions " + string.Join(", ", Permissions.Select(p => p.Key + ":" + p.Value)));
        }

        return string.Join("; ", parts);
    }

    private static string BuildKey(string[] repositories, long[] repositoryIds, KeyValuePair<string, string>[] permissions)
    {
        if (repositories.Length == 0 && repositoryIds.Length == 0 && permissions.Length == 0)
        {
            return string.Empty;
        }

        var key = new StringBuilder();
        key.Append("repositories=").AppendJoin(',', repositories)
            .Append(";repository_ids=").AppendJoin(',', repositoryIds.Select(i => i.ToString(CultureInfo.InvariantCulture)))
            .Append(";permissions=").AppendJoin(',', permissions.Select(p => p.Key + ":" + p.Value));
        return key.ToString();
    }
}
