using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>A commit in a fake repository's history.</summary>
internal sealed record FakeCommit(string Sha, string Message, string AuthorName, string AuthorEmail, string? AuthorLogin, DateTimeOffset Date);

/// <summary>
/// Repository histories, the compare API over them
/// (<c>GET /repos/{owner}/{repo}/compare/{base}...{head}</c>), and <c>push</c> payloads as GitHub builds them, with
/// the commit list cut at 2,048. History is linear per repository; branches point into it.
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>The most commits GitHub lists in a push payload.</summary>
    internal const int PushPayloadCommitLimit = 2048;

    /// <summary>What the compare API answers without paging parameters: the last 250 commits of the comparison.</summary>
    internal const int CompareUnpagedLimit = 250;

    private readonly Dictionary<long, List<FakeCommit>> _histories = [];
    private readonly Dictionary<(long Repository, string Branch), string> _branches = [];

    /// <summary>
    /// Pushes <paramref name="count"/> new commits onto <paramref name="branch"/> of the repository and returns the
    /// <c>push</c> payload GitHub would send for it (JSON bytes, to be signed as they are): every field of the real
    /// payload's shape, <c>repository.pushed_at</c> set to <paramref name="pushedAt"/>, and <c>commits</c> holding at most
    /// <see cref="PushPayloadCommitLimit"/> of them (the oldest first), as GitHub caps it. The first push to a branch
    /// creates it (<c>before</c> all zeros).
    /// </summary>
    public byte[] Push(long installationId, FakeRepository repository, string branch, int count, DateTimeOffset pushedAt)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var added = new List<FakeCommit>(count);
        string before;
        lock (_lock)
        {
            var history = _histories.TryGetValue(repository.Id, out var h) ? h : _histories[repository.Id] = [];
            before = _branches.GetValueOrDefault((repository.Id, branch), "0000000000000000000000000000000000000000");
            for (var i = 0; i < count; i++)
            {
                var n = history.Count + 1;
                var commit = new FakeCommit(
                    Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{repository.Id}/{n}")))[..40],
                    $"change {n} of {repository.FullName}", "Codertocat", "21031067+Codertocat@users.noreply.github.com", "Codertocat",
                    pushedAt.AddSeconds(i - count));
                history.Add(commit);
                added.Add(commit);
            }

            _branches[(repository.Id, branch)] = added[^1].Sha;
        }

        var json = PayloadTemplates.Load("push");
        json["ref"] = "refs/heads/" + branch;
        json["before"] = before;
        json["after"] = added[^1].Sha;
        json["created"] = before.All(c => c == '0');
        json["compare"] = $"https://github.com/{repository.FullName}/compare/{before[..12]}...{added[^1].Sha[..12]}";
        json["commits"] = new JsonArray([.. added.Take(PushPayloadCommitLimit).Select(c => PayloadCommit(repository, c))]);
        json["head_commit"] = PayloadCommit(repository, added[^1]);
        json["installation"] = new JsonObject { ["id"] = installationId };
        var repositoryJson = PayloadTemplates.SetRepository(json, repository);
        repositoryJson["master_branch"] = repository.DefaultBranch;
        repositoryJson["owner"]!["name"] = repository.Owner;
        repositoryJson["pushed_at"] = pushedAt.ToUnixTimeSeconds();
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    private static JsonObject PayloadCommit(FakeRepository repository, FakeCommit commit)
    {
        var author = new JsonObject { ["name"] = commit.AuthorName, ["email"] = commit.AuthorEmail, ["username"] = commit.AuthorLogin };
        return new JsonObject
        {
            ["id"] = commit.Sha,
            ["tree_id"] = commit.Sha[..39] + "0",
            ["distinct"] = true,
            ["message"] = commit.Message,
            ["timestamp"] = Iso(commit.Date),
            ["url"] = $"https://github.com/{repository.FullName}/commit/{commit.Sha}",
            ["author"] = author,
            ["committer"] = author.DeepClone(),
            ["added"] = new JsonArray(),
            ["removed"] = new JsonArray(),
            ["modified"] = new JsonArray($"src/{commit.Sha[..8]}.cs"),
        };
    }

    /// <summary>
    /// The compare API as GitHub documents it: <c>BASE...HEAD</c> (shas, 7+ character prefixes or branch names), the
    /// installation must see the repository and hold <c>contents</c>; without <c>per_page</c> or <c>page</c> only the last
    /// 250 commits and no <c>Link</c>; with them, pages in chronological order (30 by default, at most 100) and
    /// <c>Link</c> headers; <c>total_commits</c> always counts them all.
    /// </summary>
    private Answer Compare(HttpContext context, FakeInstallation installation, string owner, string name, string basehead)
    {
        if (FindRepository(installation, owner, name) is not { } repository)
        {
            return Error(404, "Not Found");
        }

        if (!installation.Permissions.ContainsKey("contents"))
        {
            return Error(403, "Resource not accessible by integration");
        }

        var parts = basehead.Split("...");
        List<FakeCommit> history;
        lock (_lock)
        {
            history = _histories.TryGetValue(repository.Id, out var h) ? [.. h] : [];
        }

        if (parts.Length != 2 || Resolve(repository, history, parts[0]) is not { } @base || Resolve(repository, history, parts[1]) is not { } head)
        {
            return Error(404, "Not Found");
        }

        var commits = @base <= head ? history.Skip(@base + 1).Take(head - @base).ToList() : [];
        object Shape(List<FakeCommit> page) => new
        {
            url = $"{ApiBaseUrl}repos/{repository.FullName}/compare/{basehead}",
            html_url = $"https://github.com/{repository.FullName}/compare/{basehead}",
            status = @base == head ? "identical" : @base < head ? "ahead" : "behind",
            ahead_by = Math.Max(0, head - @base),
            behind_by = Math.Max(0, @base - head),
            total_commits = commits.Count,
            base_commit = RestCommit(repository, history[@base]),
            merge_base_commit = RestCommit(repository, history[Math.Min(@base, head)]),
            commits = page.Select(c => RestCommit(repository, c)).ToList(),
            files = Array.Empty<object>(),
        };

        var query = context.Request.Query;
        return query.ContainsKey("per_page") || query.ContainsKey("page")
            ? Page(context, commits, Shape)
            : Ok(Shape([.. commits.Skip(Math.Max(0, commits.Count - CompareUnpagedLimit))]));
    }

    private int? Resolve(FakeRepository repository, List<FakeCommit> history, string reference)
    {
        reference = Uri.UnescapeDataString(reference);
        lock (_lock)
        {
            if (_branches.TryGetValue((repository.Id, reference), out var tip))
            {
                reference = tip;
            }
        }

        if (reference.Length < 7)
        {
            return null;
        }

        var index = history.FindIndex(c => c.Sha.StartsWith(reference, StringComparison.Ordinal));
        return index < 0 ? null : index;
    }

    private object RestCommit(FakeRepository repository, FakeCommit commit)
    {
        var person = new { name = commit.AuthorName, email = commit.AuthorEmail, date = Iso(commit.Date) };
        var account = commit.AuthorLogin is null ? null : new { login = commit.AuthorLogin, id = 21031067, type = "User" };
        return new
        {
            sha = commit.Sha,
            node_id = "C_" + commit.Sha[..20],
            commit = new
            {
                author = person,
                committer = person,
                message = commit.Message,
                tree = new { sha = commit.Sha[..39] + "0" },
                comment_count = 0,
            },
            url = $"{ApiBaseUrl}repos/{repository.FullName}/commits/{commit.Sha}",
            html_url = $"https://github.com/{repository.FullName}/commit/{commit.Sha}",
            author = account,
            committer = account,
            parents = Array.Empty<object>(),
        };
    }

    /// <summary>The compare requests the fake answered for the repository (any status), to show paging.</summary>
    internal IReadOnlyList<RecordedRequest> CompareRequests(FakeRepository repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        return [.. Requests.Where(r => r.Path.StartsWith($"/repos/{repository.FullName}/compare/", StringComparison.OrdinalIgnoreCase))];
    }
}
