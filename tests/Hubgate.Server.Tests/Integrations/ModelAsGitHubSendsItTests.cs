using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hubgate.Testing;
using Hubgate.Integrations;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Integrations;

/// <summary>
/// The model against what GitHub really sends, through the webhook endpoint and the worker: pushes whose commit list
/// GitHub cut at 2,048, an account renamed, and events that arrive out of order (retries, replays).
/// </summary>
public sealed class ModelAsGitHubSendsItTests : IAsyncLifetime
{
    private const string ApiKey = "model-order-api-key-7d21";
    private const string Secret = "model-order-secret";
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync() => _gitHub = await FakeGitHubServer.StartAsync();

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private HubgateApplication Start() => new(ModelDeliveries.Settings(_gitHub, ApiKey, Secret));

    private static HttpClient Client(HubgateApplication app) => ModelDeliveries.Client(app, ApiKey);

    /// <summary>Sends each delivery and waits for it to be processed before the next: the order of arrival is the test's.</summary>
    private static async Task DeliverInOrderAsync(HttpClient client, params (string Event, byte[] Body, string Id)[] deliveries)
    {
        foreach (var (@event, body, id) in deliveries)
        {
            await ModelDeliveries.SendAsync(client, Secret, @event, body, id);
            await ModelDeliveries.WaitProcessedAsync(client, id);
        }
    }

    private static async Task<HubgateDbContext> DbAsync(HubgateApplication app) =>
        await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();

    private static byte[] Edit(string @event, string fixture, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(WebhookFixtures.Load(@event, fixture))!.AsObject();
        edit(json);
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    [Fact]
    public async Task PushOf2500Commits_GitHubLists2048_TheRestAreReadPageByPageThroughTheCompareApi()
    {
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        var repository = _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var first = _gitHub.Push(1, repository, "master", 1, start);
        var big = _gitHub.Push(1, repository, "master", 2500, start.AddMinutes(30));
        Assert.Equal(FakeGitHubServer.PushPayloadCommitLimit, JsonNode.Parse(big)!["commits"]!.AsArray().Count);

        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client, ("push", first, "push-first"), ("push", big, "push-big"));

        await using var db = await DbAsync(app);
        Assert.Equal(2501, await db.Commits.CountAsync(c => c.RepositoryId == repository.Id));
        var push = await db.Pushes.SingleAsync(p => p.DeliveryId == "push-big");
        Assert.Equal((2500, 2500 - FakeGitHubServer.PushPayloadCommitLimit), (push.CommitsStored, push.CommitsFetched));
        var newest = await db.Commits.OrderByDescending(c => c.Id).FirstAsync();
        Assert.Equal(JsonNode.Parse(big)!["after"]!.GetValue<string>(), newest.Sha);
        Assert.Equal(("Codertocat", "Codertocat"), (newest.AuthorName, newest.AuthorUsername));
        Assert.StartsWith("change 2501 of", newest.Message, StringComparison.Ordinal);

        // Every page of 100 once, with the installation's token; the single-commit push asked nothing.
        var compares = _gitHub.CompareRequests(repository);
        Assert.Equal(25, compares.Count);
        Assert.All(compares, r => Assert.Equal((FakeCredential.InstallationToken, 200), (r.Credential, r.Status)));
        Assert.All(compares, r => Assert.Contains("per_page=100", r.Query, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Push_ANonDistinctCommitHubgateLacks_IsStored_OneItHas_IsKept()
    {
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        var body = Edit("push", "with-new-branch.payload.json", p =>
        {
            var known = p["commits"]![0]!;
            var merged = known.DeepClone();
            merged["id"] = "abcd000000000000000000000000000000000001";
            merged["message"] = "pushed to another branch first, that push lost";
            merged["distinct"] = false;
            known["distinct"] = false;
            known["message"] = "a rewritten message that must not replace the stored one";
            p["commits"] = new JsonArray(known.DeepClone(), merged);
        });

        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client, ("push", WebhookFixtures.Load("push", "with-new-branch.payload.json"), "p-1"), ("push", body, "p-2"));

        await using var db = await DbAsync(app);
        var commits = await db.Commits.OrderBy(c => c.Id).Select(c => new { c.Sha, c.Message }).ToListAsync();
        Assert.Equal(["Initial commit", "pushed to another branch first, that push lost"], commits.Select(c => c.Message));
        Assert.Equal(1, (await db.Pushes.SingleAsync(p => p.DeliveryId == "p-2")).CommitsStored);
    }

    [Fact]
    public async Task LastPush_IsTheNewestBranchPushByPushedAt_NotTheLastToArrive_NorATagOrADeletion()
    {
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        byte[] Push(string @ref, long pushedAt, string after, bool deleted = false) => Edit("push", "with-new-branch.payload.json", p =>
        {
            p["ref"] = @ref;
            p["after"] = deleted ? "0000000000000000000000000000000000000000" : after;
            p["deleted"] = deleted;
            p["created"] = false;
            p["commits"] = deleted ? new JsonArray() : p["commits"]!.DeepClone();
            p["head_commit"] = deleted ? null : new JsonObject { ["id"] = after, ["message"] = "head", ["distinct"] = true };
            p["repository"]!["pushed_at"] = pushedAt;
        });

        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client,
            ("push", Push("refs/heads/main", 1_700_000_200, "1111111111111111111111111111111111111111"), "newest-branch-push"),
            ("push", Push("refs/heads/feature", 1_700_000_100, "2222222222222222222222222222222222222222"), "older-push-arriving-late"),
            ("push", Push("refs/tags/v1.0", 1_700_000_300, "3333333333333333333333333333333333333333"), "tag-push"),
            ("push", Push("refs/heads/old", 1_700_000_400, "", deleted: true), "branch-deletion"));

        await using var db = await DbAsync(app);
        var repository = await db.Repositories.SingleAsync();
        Assert.Equal(("refs/heads/main", "1111111111111111111111111111111111111111", DateTimeOffset.FromUnixTimeSeconds(1_700_000_200)),
            (repository.LastPushRef, repository.LastPushSha, repository.LastPushAt));
        Assert.Equal(4, await db.Pushes.CountAsync());
    }

    [Fact]
    public async Task InstallationTargetRenamed_TheAccountAndEveryRepositoryTakeTheNewLogin()
    {
        _gitHub.AddInstallation(1, "Octocoders-Legacy");
        _gitHub.AddRepository(1, 501, "Octocoders-Legacy", "api");
        _gitHub.AddRepository(1, 502, "Octocoders-Legacy", "web");
        using var app = Start();
        using var client = Client(app);
        await app.Services.GetRequiredService<InstallationSync>().SyncAsync();

        await DeliverInOrderAsync(client, ("installation_target", WebhookFixtures.Load("installation_target", "renamed.payload.json"), "renamed-1"));

        await using var db = await DbAsync(app);
        var installation = await db.Installations.SingleAsync(i => i.Id == 1);
        Assert.Equal(("Octocoders", 38302899L), (installation.AccountLogin, installation.AccountId));
        var repositories = await db.Repositories.OrderBy(r => r.Id).Select(r => $"{r.FullName}|{r.OwnerLogin}|{r.Name}").ToListAsync();
        Assert.Equal(["Octocoders/api|Octocoders|api", "Octocoders/web|Octocoders|web"], repositories);
    }

    [Fact]
    public async Task SuspendReplayedAfterTheUnsuspend_LeavesTheInstallationActive()
    {
        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client,
            ("installation", WebhookFixtures.Load("installation", "suspend.payload.json"), "suspend-1"),
            ("installation", WebhookFixtures.Load("installation", "unsuspend.payload.json"), "unsuspend-1"));

        Assert.Equal(HttpStatusCode.Accepted,
            (await client.PostAsync(new Uri("/api/deliveries/suspend-1/replay", UriKind.Relative), null)).StatusCode);
        await ModelDeliveries.WaitProcessedAsync(client, "suspend-1");

        await using var db = await DbAsync(app);
        var installation = await db.Installations.SingleAsync(i => i.Id == 16598467);
        Assert.Equal((InstallationStatus.Active, null), (installation.Status, installation.SuspendedAt));
    }

    [Fact]
    public async Task RepositoryRemovedAfterItsDeletion_StaysDeleted_AddedAfterItsArchiving_StaysArchived()
    {
        _gitHub.AddInstallation(1, "Octocoders");
        static byte[] Repository(string action, long id, string name, DateTimeOffset updatedAt) => Edit("repository", "created.with-installation.payload.json", p =>
        {
            p["action"] = action;
            p["repository"]!["id"] = id;
            p["repository"]!["name"] = name;
            p["repository"]!["full_name"] = "Octocoders/" + name;
            p["repository"]!["updated_at"] = updatedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        });
        static byte[] Selection(string action, long id, string name) => Edit("installation_repositories", "removed.payload.json", p =>
        {
            p["action"] = action;
            p["installation"]!["id"] = 1;
            var list = new JsonArray(new JsonObject { ["id"] = id, ["name"] = name, ["full_name"] = "Octocoders/" + name, ["private"] = false });
            p["repositories_added"] = action == "added" ? list : new JsonArray();
            p["repositories_removed"] = action == "removed" ? list : new JsonArray();
        });

        var now = DateTimeOffset.UtcNow;
        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client,
            ("repository", Repository("deleted", 601, "gone", now.AddMinutes(-2)), "deleted-1"),
            ("installation_repositories", Selection("removed", 601, "gone"), "removed-1"),
            ("repository", Repository("archived", 602, "frozen", now.AddMinutes(-2)), "archived-2"),
            ("installation_repositories", Selection("added", 602, "frozen"), "added-2"));

        await using var db = await DbAsync(app);
        Assert.Equal(RepositoryStatus.Deleted, (await db.Repositories.SingleAsync(r => r.Id == 601)).Status);
        Assert.Equal(RepositoryStatus.Archived, (await db.Repositories.SingleAsync(r => r.Id == 602)).Status);
    }

    [Fact]
    public async Task ArchivedArrivingAfterANewerUnarchived_LeavesTheRepositoryActive()
    {
        _gitHub.AddInstallation(1, "Octocoders");
        byte[] Repository(string action, string updatedAt) => Edit("repository", "created.with-installation.payload.json", p =>
        {
            p["action"] = action;
            p["repository"]!["updated_at"] = updatedAt;
        });

        using var app = Start();
        using var client = Client(app);
        await DeliverInOrderAsync(client,
            ("repository", Repository("unarchived", "2024-03-01T10:00:05Z"), "unarchived-late"),
            ("repository", Repository("archived", "2024-03-01T10:00:01Z"), "archived-early"));

        await using var db = await DbAsync(app);
        Assert.Equal(RepositoryStatus.Active, (await db.Repositories.SingleAsync(r => r.Id == 186853261)).Status);
    }
}
