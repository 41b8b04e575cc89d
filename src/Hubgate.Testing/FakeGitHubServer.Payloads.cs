using System.Text;
using System.Text.Json.Nodes;

namespace Hubgate.Testing;

/// <summary>
/// Webhook payloads as GitHub builds them, filled from the fake's own state so that what a receiver then asks the fake
/// (the installation, the repository, the commits of a push) agrees with what the delivery said.
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>
    /// The <c>installation</c> payload GitHub sends when the App is installed (<c>action: created</c>): the installation
    /// as <c>GET /app/installations/{id}</c> shows it, and the repositories it was given.
    /// </summary>
    /// <param name="installationId">An installation added with <see cref="AddInstallation"/> or <see cref="InstallApp"/>.</param>
    /// <returns>The JSON bytes, to be signed as they are.</returns>
    public byte[] InstallationCreatedPayload(long installationId)
    {
        var installation = FindInstallation(installationId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            ?? throw new KeyNotFoundException($"The fake GitHub has no installation {installationId}.");
        var json = PayloadTemplates.Load("installation");
        json["action"] = "created";
        json["installation"] = JsonNode.Parse(Json(InstallationJson(installation)));
        json["repositories"] = new JsonArray([.. Snapshot(installation).Select(r => (JsonNode)new JsonObject
        {
            ["id"] = r.Id,
            ["node_id"] = "R_kgDO" + r.Id,
            ["name"] = r.Name,
            ["full_name"] = r.FullName,
            ["private"] = r.Private,
        })]);
        json["sender"]!["login"] = installation.AccountLogin;
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>
    /// A <c>pull_request</c> payload: <paramref name="action"/> (<c>opened</c>, <c>closed</c>, …) of pull request
    /// <paramref name="number"/> from <paramref name="headBranch"/> into the repository's default branch. A merged pull
    /// request is <c>closed</c> with <c>merged: true</c>, <c>merged_at</c> and a <c>merge_commit_sha</c>.
    /// </summary>
    /// <param name="installationId">The installation the delivery is for.</param>
    /// <param name="repository">The repository, as added with <see cref="AddRepository"/>.</param>
    /// <param name="number">The pull request's number.</param>
    /// <param name="action">The event's action.</param>
    /// <param name="title">The pull request's title.</param>
    /// <param name="headBranch">The branch it merges from.</param>
    /// <param name="merged">Whether it has been merged (then its state is <c>closed</c>).</param>
    /// <param name="at">When the action happened (<c>updated_at</c>, and <c>closed_at</c> / <c>merged_at</c> when closed).</param>
    /// <returns>The JSON bytes, to be signed as they are.</returns>
    public byte[] PullRequestPayload(long installationId, FakeRepository repository, int number, string action, string title, string headBranch,
        bool merged, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentException.ThrowIfNullOrEmpty(action);
        var closed = merged || action == "closed";
        string headSha;
        lock (_lock)
        {
            headSha = _branches.GetValueOrDefault((repository.Id, headBranch),
                Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{repository.Id}/{headBranch}")))[..40]);
        }

        var json = PayloadTemplates.Load("pull_request");
        json["action"] = action;
        json["number"] = number;
        json["installation"] = new JsonObject { ["id"] = installationId };
        PayloadTemplates.SetRepository(json, repository);
        var pr = json["pull_request"]!.AsObject();
        pr["id"] = (repository.Id * 10_000) + number;
        pr["number"] = number;
        pr["title"] = title;
        pr["body"] = $"{title} (a fake pull request)";
        pr["state"] = closed ? "closed" : "open";
        pr["html_url"] = $"https://github.com/{repository.FullName}/pull/{number}";
        pr["created_at"] = Iso(action == "opened" ? at : at.AddMinutes(-5));
        pr["updated_at"] = Iso(at);
        pr["closed_at"] = closed ? Iso(at) : null;
        pr["merged"] = merged;
        pr["merged_at"] = merged ? Iso(at) : null;
        pr["merge_commit_sha"] = merged ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{repository.Id}/merge/{number}")))[..40] : null;
        pr["head"]!["ref"] = headBranch;
        pr["head"]!["sha"] = headSha;
        pr["base"]!["ref"] = repository.DefaultBranch;
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }
}
