using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>
/// Down-scoped installation tokens as GitHub mints and enforces them: <c>repositories</c> (bare names within the
/// installation's account), <c>repository_ids</c> and <c>permissions</c> in the body of
/// <c>POST /app/installations/{id}/access_tokens</c>. A repository the installation lacks, or a permission it was not
/// granted (or a higher level), is 422 with GitHub's message. The token then reaches only those repositories (another
/// one is 404, as GitHub hides what a token may not see) and only with those permissions (403 "Resource not accessible
/// by integration"). Every mint's request body is recorded.
/// </summary>
public sealed partial class FakeGitHubServer
{
    internal const string ScopeRepositoriesRefused = "There is at least one repository that does not exist or is not accessible to the parent installation.";
    internal const string ScopePermissionsRefused = "The permissions requested are not granted to this installation.";

    private static readonly string[] Levels = ["read", "write", "admin"];

    private readonly Dictionary<string, TokenScope> _tokenScopes = new(StringComparer.Ordinal);
    private readonly List<RecordedMint> _mints = [];

    /// <summary>Every access-token request the fake answered, in order, with its request body.</summary>
    internal IReadOnlyList<RecordedMint> Mints
    {
        get
        {
            lock (_lock)
            {
                return [.. _mints];
            }
        }
    }

    /// <summary>Grants the installation a permission (as its owner accepting the App's new permissions would).</summary>
    internal void GrantPermission(long installationId, string permission, string level)
    {
        lock (_lock)
        {
            _installations[installationId].Permissions[permission] = level;
        }
    }

    /// <summary>Reads and checks a mint request's scope: null scope and an answer when GitHub would refuse it.</summary>
    private async Task<(TokenScope? Scope, Answer? Refusal)> ReadMintScopeAsync(HttpContext context, FakeInstallation installation)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var text = System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        var (scope, refusal) = ParseMintScope(text, installation);
        lock (_lock)
        {
            _mints.Add(new RecordedMint(installation.Id, text, refusal?.Status ?? 201));
        }

        return (scope, refusal);
    }

    private (TokenScope? Scope, Answer? Refusal) ParseMintScope(string text, FakeInstallation installation)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (TokenScope.Everything, null);
        }

        JsonElement root;
        try
        {
            using var json = JsonDocument.Parse(text);
            root = json.RootElement.Clone();
        }
        catch (JsonException)
        {
            return (null, Error(400, "Problems parsing JSON"));
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, Error(400, "Problems parsing JSON"));
        }

        var repositories = Snapshot(installation);
        HashSet<long>? allowed = null;
        if (root.TryGetProperty("repositories", out var names))
        {
            allowed = [];
            foreach (var name in names.EnumerateArray())
            {
                // GitHub takes bare names within the installation's account; "owner/name" is no repository of it.
                var found = name.ValueKind == JsonValueKind.String
                    ? repositories.FirstOrDefault(r => r.Name.Equals(name.GetString(), StringComparison.OrdinalIgnoreCase))
                    : null;
                if (found is null)
                {
                    return (null, Unprocessable(ScopeRepositoriesRefused));
                }

                allowed.Add(found.Id);
            }
        }

        if (root.TryGetProperty("repository_ids", out var ids))
        {
            allowed ??= [];
            foreach (var id in ids.EnumerateArray())
            {
                var found = id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out var n) ? repositories.FirstOrDefault(r => r.Id == n) : null;
                if (found is null)
                {
                    return (null, Unprocessable(ScopeRepositoriesRefused));
                }

                allowed.Add(found.Id);
            }
        }

        Dictionary<string, string>? permissions = null;
        if (root.TryGetProperty("permissions", out var asked) && asked.ValueKind == JsonValueKind.Object)
        {
            permissions = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var permission in asked.EnumerateObject())
            {
                var level = permission.Value.ValueKind == JsonValueKind.String ? permission.Value.GetString()! : string.Empty;
                if (!installation.Permissions.TryGetValue(permission.Name, out var granted) || Rank(level) == 0 || Rank(level) > Rank(granted))
                {
                    return (null, Unprocessable(ScopePermissionsRefused));
                }

                permissions[permission.Name] = level;
            }
        }

        return (new TokenScope(allowed, permissions), null);
    }

    private static Answer Unprocessable(string message) => Error(422, message);

    private static int Rank(string level) => Array.IndexOf(Levels, level) + 1;

    /// <summary>What the token's own scope says about a request of an installation route; null when it may go on.</summary>
    private Answer? ScopedAnswer(HttpContext context, string token, FakeInstallation installation, string[] s)
    {
        TokenScope scope;
        lock (_lock)
        {
            scope = _tokenScopes.GetValueOrDefault(token) ?? TokenScope.Everything;
        }

        var method = context.Request.Method;
        var repositories = Snapshot(installation);
        FakeRepository? repository = s switch
        {
            ["repos", var owner, var name, ..] => FindRepository(installation, owner, name),
            ["repositories", var id, ..] => repositories.FirstOrDefault(r => r.Id.ToString(CultureInfo.InvariantCulture) == id),
            _ => null,
        };
        if (s is ["repos", _, _, ..] or ["repositories", _, ..] && repository is not null && scope.Repositories is { } visible && !visible.Contains(repository.Id))
        {
            return Error(404, "Not Found");
        }

        if (s is ["installation", "repositories"] && scope.Repositories is { } listed)
        {
            var mine = repositories.Where(r => listed.Contains(r.Id)).Select(RepositoryJson).ToList();
            return Page(context, mine, list => new { total_count = mine.Count, repository_selection = "selected", repositories = list });
        }

        var needed = Needed(method, s);
        var permissions = scope.Permissions ?? installation.Permissions;
        if (needed is { } need && (scope.Permissions is not null || s is ["repos", _, _, "contents", ..]) &&
            (!permissions.TryGetValue(need.Name, out var level) || Rank(level) < Rank(need.Level)))
        {
            return Error(403, "Resource not accessible by integration");
        }

        return (s, method) switch
        {
            (["repositories", _], "GET") => repository is null ? Error(404, "Not Found") : Ok(RepositoryJson(repository)),
            (["repos", _, _, "contents", .. var file], "GET") when repository is not null =>
                Ok(new { type = "file", name = file[^1], path = string.Join('/', file), encoding = "base64", content = Convert.ToBase64String("fake\n"u8) }),
            (["repos", _, _, "contents", .. var file], "PUT") when repository is not null =>
                new Answer(201, Json(new { content = new { name = file[^1], path = string.Join('/', file) } })),
            _ => null,
        };
    }

    /// <summary>The permission GitHub requires for the fake's installation routes (metadata is always granted).</summary>
    private static (string Name, string Level)? Needed(string method, string[] s)
    {
        var write = method is not ("GET" or "HEAD");
        return s switch
        {
            ["repos", _, _, "compare", ..] or ["repos", _, _, "contents", ..] => ("contents", write ? "write" : "read"),
            ["repos", _, _, "issues", ..] => ("issues", write ? "write" : "read"),
            ["repos", _, _, "pulls", ..] => ("pull_requests", write ? "write" : "read"),
            _ => null,
        };
    }

    /// <summary>Remembers what a freshly minted token may reach.</summary>
    private void RememberScope(string token, TokenScope scope)
    {
        lock (_lock)
        {
            _tokenScopes[token] = scope;
        }
    }

    /// <summary>The parts of the mint answer that depend on the scope.</summary>
    private void DescribeScope(Dictionary<string, object?> body, FakeInstallation installation, TokenScope scope)
    {
        body["permissions"] = scope.Permissions ?? installation.Permissions;
        if (scope.Repositories is { } ids)
        {
            body["repository_selection"] = "selected";
            body["repositories"] = Snapshot(installation).Where(r => ids.Contains(r.Id)).Select(RepositoryJson).ToList();
        }
    }

    /// <summary>A token's reach: null members mean "as the installation".</summary>
    private sealed record TokenScope(HashSet<long>? Repositories, Dictionary<string, string>? Permissions)
    {
        public static readonly TokenScope Everything = new(null, null);
    }
}

/// <summary>One access-token request: the installation and the request body as sent (empty when none), and the status answered.</summary>
internal sealed record RecordedMint(long InstallationId, string Body, int Status);
