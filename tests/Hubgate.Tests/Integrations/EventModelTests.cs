using System.Text.Json.Nodes;
using Hubgate.Integrations;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Integrations;

/// <summary><c>push</c>, <c>pull_request</c>, <c>repository</c> and <c>ping</c>, with GitHub's payloads and edge cases built from them.</summary>
public sealed class EventModelTests
{
    private const long Repo = 186853002;

    private static JsonObject Commit(string sha, string message, string timestamp = "2019-05-15T15:19:25Z", bool distinct = true,
        string authorName = "Codertocat", string email = "21031067+Codertocat@users.noreply.github.com", string[]? added = null,
        string[]? modified = null, string[]? removed = null) => new()
    {
        ["id"] = sha,
        ["tree_id"] = "31b122c26a97cf9af023e9ddab94a82c6e77b0ea",
        ["distinct"] = distinct,
        ["message"] = message,
        ["timestamp"] = timestamp,
        ["url"] = "https://github.com/Codertocat/Hello-World/commit/" + sha,
        ["author"] = new JsonObject { ["name"] = authorName, ["email"] = email, ["username"] = "Codertocat" },
        ["committer"] = new JsonObject { ["name"] = "GitHub", ["email"] = "noreply@github.com" },
        ["added"] = new JsonArray((added ?? []).Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
        ["removed"] = new JsonArray((removed ?? []).Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
        ["modified"] = new JsonArray((modified ?? []).Select(a => (JsonNode)JsonValue.Create(a)!).ToArray()),
    };

    private static byte[] Push(params JsonObject[] commits) => ModelHarness.Edit("push", "with-new-branch.payload.json", p =>
    {
        p["commits"] = new JsonArray(commits.Select(c => (JsonNode)c).ToArray());
        p["head_commit"] = commits.Length > 0 ? commits[^1].DeepClone() : null;
        p["after"] = commits.Length > 0 ? commits[^1]["id"]!.GetValue<string>() : p["after"]!.GetValue<string>();
    });

    private static async Task<ModelHarness> StartAsync(Action<Dictionary<string, string?>>? settings = null)
    {
        var h = await ModelHarness.StartAsync(settings);
        h.GitHub.AddInstallation(1, "Codertocat", accountType: "User");
        return h;
    }

    [Fact]
    public async Task Push_StoresCommitsWithFileChanges_RecordsRefAndHead()
    {
        await using var h = await StartAsync();
        var delivery = await h.ProcessFixtureAsync("push", "with-new-branch.payload.json", "push-1");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        var commit = await db.Commits.Include(c => c.FileChanges).SingleAsync();
        Assert.Equal(("6113728f27ae82c7b1a177c8d03f9e96e0adf246", Repo, "Initial commit", "refs/heads/master"), (commit.Sha, commit.RepositoryId, commit.Message, commit.Ref));
        Assert.Equal(new DateTimeOffset(2019, 5, 15, 15, 19, 25, TimeSpan.Zero), commit.Timestamp);
        Assert.Equal(("Codertocat", "21031067+Codertocat@users.noreply.github.com", "Codertocat"), (commit.AuthorName, commit.AuthorEmail, commit.AuthorUsername));
        Assert.Equal("https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246", commit.Url);
        Assert.Equal(("README.md", FileChangeKind.Added), (commit.FileChanges.Single().Path, commit.FileChanges.Single().Kind));
        var push = await db.Pushes.SingleAsync();
        Assert.Equal(("push-1", "refs/heads/master", "6113728f27ae82c7b1a177c8d03f9e96e0adf246", true, false, 1),
            (push.DeliveryId, push.Ref, push.HeadCommitSha, push.Created, push.Deleted, push.CommitsStored));
        var repository = await db.Repositories.SingleAsync();
        Assert.Equal(("refs/heads/master", "6113728f27ae82c7b1a177c8d03f9e96e0adf246"), (repository.LastPushRef, repository.LastPushSha));
    }

    [Fact]
    public async Task Push_EdgeCases_DuplicateSha_NonDistinct_SkipMarker_Unicode_Offsets_EmailWithoutAt()
    {
        await using var h = await StartAsync();
        await h.ProcessAsync("push", Push(
            Commit("aaaa000000000000000000000000000000000001", "first copy wins", added: ["a.txt"], modified: ["b.txt", "c.txt"], removed: ["d.txt"]),
            Commit("aaaa000000000000000000000000000000000001", "second copy loses"),
            Commit("aaaa000000000000000000000000000000000002", "already on another branch", distinct: false),
            Commit("aaaa000000000000000000000000000000000003", "wip [SKIP HUBGATE] please"),
            Commit("aaaa000000000000000000000000000000000004", "ünïcødé ✓", timestamp: "2019-05-15T11:19:25-04:00", authorName: "Zoë Ærøskøbing 李雷",
                email: "not-an-address")));

        await using var db = await h.DbAsync();
        var commits = await db.Commits.Include(c => c.FileChanges).OrderBy(c => c.Id).ToListAsync();
        // The non-distinct commit is stored too: Hubgate lacked it (the push that brought it was missed).
        Assert.Equal(["aaaa000000000000000000000000000000000001", "aaaa000000000000000000000000000000000002", "aaaa000000000000000000000000000000000004"],
            commits.Select(c => c.Sha));
        Assert.Equal("first copy wins", commits[0].Message);
        Assert.Equal(["a.txt:Added", "b.txt:Modified", "c.txt:Modified", "d.txt:Removed"],
            commits[0].FileChanges.OrderBy(f => f.Path).Select(f => $"{f.Path}:{f.Kind}"));
        var unicode = commits[2];
        Assert.Equal("Zoë Ærøskøbing 李雷", unicode.AuthorName);
        Assert.Equal("ünïcødé ✓", unicode.Message);
        Assert.Null(unicode.AuthorEmail);
        Assert.Equal(new DateTimeOffset(2019, 5, 15, 15, 19, 25, TimeSpan.Zero), unicode.Timestamp);
        Assert.Equal(TimeSpan.Zero, unicode.Timestamp!.Value.Offset);
        Assert.Equal(3, (await db.Pushes.SingleAsync()).CommitsStored);
    }

    [Fact]
    public async Task Push_SkipMarkerIsConfigurable()
    {
        await using var h = await StartAsync(s => s["Integrations:SkipCommitMarker"] = "[no-track]");
        await h.ProcessAsync("push", Push(Commit("bbbb000000000000000000000000000000000001", "x [no-track]"),
            Commit("bbbb000000000000000000000000000000000002", "y [skip hubgate]")));

        await using var db = await h.DbAsync();
        Assert.Equal(["bbbb000000000000000000000000000000000002"], await db.Commits.Select(c => c.Sha).ToListAsync());
    }

    [Fact]
    public async Task Push_AStoredCommitIsNeverOverwritten()
    {
        await using var h = await StartAsync();
        await h.ProcessAsync("push", Push(Commit("cccc000000000000000000000000000000000001", "original", added: ["one"])));
        await h.ProcessAsync("push", Push(Commit("cccc000000000000000000000000000000000001", "rewritten", added: ["two", "three"])));

        await using var db = await h.DbAsync();
        var commit = await db.Commits.Include(c => c.FileChanges).SingleAsync();
        Assert.Equal("original", commit.Message);
        Assert.Equal(["one"], commit.FileChanges.Select(f => f.Path));
        Assert.Equal([1, 0], await db.Pushes.OrderBy(p => p.Id).Select(p => p.CommitsStored).ToListAsync());
    }

    [Fact]
    public async Task Push_BranchDeletion_StoresNoCommits()
    {
        await using var h = await StartAsync();
        var delivery = await h.ProcessAsync("push", ModelHarness.Edit("push", "with-new-branch.payload.json", p =>
        {
            p["deleted"] = true;
            p["created"] = false;
            p["after"] = "0000000000000000000000000000000000000000";
            p["head_commit"] = null;
        }));

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        Assert.Equal(0, await db.Commits.CountAsync());
        var push = await db.Pushes.SingleAsync();
        Assert.True(push.Deleted);
        Assert.Null(push.HeadCommitSha);
    }

    [Fact]
    public async Task Push_BeforeItsInstallationIsKnown_InstallationLookedUpAtGitHub_ThenCreatedKeepsEverything()
    {
        await using var h = await StartAsync();
        var delivery = await h.ProcessFixtureAsync("push", "with-no-username-committer.payload.json");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        Assert.Contains(h.GitHub.Requests, r => r.Method == "GET" && r.Path == "/app/installations/1" && r.Status == 200);
        await using (var db = await h.DbAsync())
        {
            var installation = await db.Installations.SingleAsync(i => i.Id == 1);
            Assert.Equal(("Codertocat", "User", h.GitHub.AppId), (installation.AccountLogin, installation.AccountType, installation.AppId!.Value));
            Assert.Equal(Repo, (await db.Repositories.SingleAsync()).Id);
            Assert.Null((await db.Commits.SingleAsync()).CommitterUsername);
        }

        // The installation's own `created` arrives afterwards.
        await h.ProcessAsync("installation", ModelHarness.Edit("installation", "created.payload.json", p => p["installation"]!["id"] = 1));
        await using var check = await h.DbAsync();
        Assert.Equal(1, await check.Commits.CountAsync());
        Assert.Equal(InstallationStatus.Active, (await check.Installations.SingleAsync(i => i.Id == 1)).Status);
        Assert.Equal(1, await check.Repositories.CountAsync());
    }

    [Fact]
    public async Task UnknownInstallationThatGitHubDoesNotKnow_Ignored_WithTheReason()
    {
        await using var h = await ModelHarness.StartAsync(); // the fake GitHub has no installation 1
        var delivery = await h.ProcessFixtureAsync("push", "with-installation.payload.json");

        Assert.Equal(DeliveryState.Ignored, delivery.State);
        Assert.Contains("installation 1 is unknown to GitHub", delivery.IgnoredReason, StringComparison.Ordinal);
        await using var db = await h.DbAsync();
        Assert.Equal(0, await db.Installations.CountAsync());
        Assert.Equal(0, await db.Repositories.CountAsync());
    }

    [Fact]
    public async Task WebhookOnlySetUp_NoAppCredentials_UnknownInstallation_IgnoredOnce_NotRetried()
    {
        await using var h = await ModelHarness.StartAsync(s =>
        {
            s["GitHub:AppId"] = null;
            s["GitHub:ClientId"] = null;
            s["GitHub:PrivateKey"] = null;
            s["GitHub:PrivateKeyPath"] = null;
        });
        var delivery = await h.ProcessFixtureAsync("push", "with-installation.payload.json");

        Assert.Equal((DeliveryState.Ignored, 1), (delivery.State, delivery.Attempts));
        Assert.Contains("installation 1 is not known here and cannot be looked up: The GitHub App is not configured", delivery.IgnoredReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventWithoutInstallation_KeptAsIgnored()
    {
        await using var h = await StartAsync();
        var delivery = await h.ProcessFixtureAsync("push", "payload.json");

        Assert.Equal(DeliveryState.Ignored, delivery.State);
        Assert.Contains("names no installation", delivery.IgnoredReason, StringComparison.Ordinal);
        Assert.DoesNotContain(h.GitHub.Requests, r => r.Path.StartsWith("/app/installations", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GitHubFailingTheLookup_FailsTheDeliveryForARetry()
    {
        await using var h = await ModelHarness.StartAsync(s => s["GitHub:ApiBaseUrl"] = "http://127.0.0.1:9/");
        var delivery = await h.ProcessFixtureAsync("push", "with-installation.payload.json");

        Assert.Equal(DeliveryState.Failed, delivery.State);
        Assert.Contains("PushEvents", delivery.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PullRequest_OpenedWithNullBody_ThenClosedWithoutMerge()
    {
        await using var h = await StartAsync();
        await h.ProcessFixtureAsync("pull_request", "opened.with-null-body.json");
        await using (var db = await h.DbAsync())
        {
            var opened = await db.PullRequests.SingleAsync();
            Assert.Equal((2, PullRequestState.Open, (string?)null, "Codertocat", "changes", "master", false),
                (opened.Number, opened.State, opened.Body, opened.AuthorLogin, opened.HeadRef, opened.BaseRef, opened.Draft));
            Assert.StartsWith("ec26c3e5", opened.HeadSha, StringComparison.Ordinal);
            Assert.Null(opened.ClosedAt);
        }

        await h.ProcessFixtureAsync("pull_request", "closed.payload.json");
        await using var check = await h.DbAsync();
        var closed = await check.PullRequests.SingleAsync();
        Assert.Equal(PullRequestState.Closed, closed.State);
        Assert.Null(closed.MergeCommitSha); // GitHub sends a test-merge sha for unmerged pull requests: not a merge
        Assert.Null(closed.MergedAt);
        Assert.NotNull(closed.ClosedAt);
        Assert.Equal("This is a pretty simple change that we need to pull into master.", closed.Body);
    }

    [Fact]
    public async Task PullRequest_Merged_WinsOverClosed_AndALateOlderEventDoesNotRollItBack()
    {
        await using var h = await StartAsync();
        var merged = ModelHarness.Edit("pull_request", "closed.payload.json", p =>
        {
            var pr = p["pull_request"]!;
            pr["merged"] = true;
            pr["merged_at"] = "2019-05-15T11:21:18-04:00";
        });
        await h.ProcessAsync("pull_request", merged);
        await h.ProcessFixtureAsync("pull_request", "opened.payload.json"); // older updated_at, arriving late
        await h.ProcessAsync("pull_request", ModelHarness.Edit("pull_request", "reopened.payload.json", p =>
            p["pull_request"]!["updated_at"] = "2030-01-01T00:00:00Z")); // newer, but a merged pull request stays merged

        await using var db = await h.DbAsync();
        var pr = await db.PullRequests.SingleAsync();
        Assert.Equal(PullRequestState.Merged, pr.State);
        Assert.Equal("c4295bd74fb0f4fda03689c3df3f2803b658fd85", pr.MergeCommitSha);
        Assert.Equal(new DateTimeOffset(2019, 5, 15, 15, 21, 18, TimeSpan.Zero), pr.MergedAt);
    }

    [Fact]
    public async Task Repository_RenamedTransferredEditedPrivatizedArchivedDeleted()
    {
        await using var h = await StartAsync();
        await h.ProcessFixtureAsync("repository", "renamed.payload.json");
        await using (var db = await h.DbAsync())
        {
            var renamed = await db.Repositories.SingleAsync(r => r.Id == 186853261);
            Assert.Equal(("Hello-World", "Octocoders/Hello-World", "Octocoders"), (renamed.Name, renamed.FullName, renamed.OwnerLogin));
        }

        byte[] Action(string fixture, string action, Action<JsonObject>? more = null) => ModelHarness.Edit("repository", fixture, p =>
        {
            p["action"] = action;
            p["installation"] = new JsonObject { ["id"] = 1 };
            more?.Invoke(p);
        });

        await h.ProcessAsync("repository", Action("transferred.payload.json", "transferred", p =>
        {
            p["repository"]!["full_name"] = "NewOwner/Hello-World";
            p["repository"]!["owner"]!["login"] = "NewOwner";
        }));
        Assert.Equal(("NewOwner/Hello-World", "NewOwner"), await ReadAsync(h, r => (r.FullName, r.OwnerLogin)));
        await h.ProcessAsync("repository", Action("edited.with-default_branch-edit.payload.json", "edited", p =>
        {
            p["repository"]!["id"] = 186853261;
            p["repository"]!["default_branch"] = "trunk";
        }));
        Assert.Equal("trunk", await ReadAsync(h, r => r.DefaultBranch));
        await h.ProcessAsync("repository", Action("privatized.payload.json", "privatized", p =>
        {
            p["repository"]!["id"] = 186853261;
            p["repository"]!["private"] = true;
        }));
        Assert.True(await ReadAsync(h, r => r.Private));
        await h.ProcessAsync("repository", Action("publicized.payload.json", "publicized", p =>
        {
            p["repository"]!["id"] = 186853261;
            p["repository"]!["private"] = false;
        }));
        Assert.False(await ReadAsync(h, r => r.Private));
        Assert.Equal(RepositoryStatus.Active, await StatusAsync(h));

        await h.ProcessAsync("repository", Action("renamed.payload.json", "archived"));
        Assert.Equal(RepositoryStatus.Archived, await StatusAsync(h));
        await h.ProcessAsync("repository", Action("renamed.payload.json", "unarchived"));
        Assert.Equal(RepositoryStatus.Active, await StatusAsync(h));
        await h.ProcessAsync("repository", Action("renamed.payload.json", "deleted"));
        Assert.Equal(RepositoryStatus.Deleted, await StatusAsync(h));
    }

    private static async Task<T> ReadAsync<T>(ModelHarness h, Func<RepositoryEntity, T> read)
    {
        await using var db = await h.DbAsync();
        return read(await db.Repositories.AsNoTracking().SingleAsync(r => r.Id == 186853261));
    }

    private static async Task<RepositoryStatus> StatusAsync(ModelHarness h)
    {
        await using var db = await h.DbAsync();
        return await db.Repositories.Where(r => r.Id == 186853261).Select(r => r.Status).SingleAsync();
    }

    [Fact]
    public async Task Ping_RecordsHookAndApp_WarnsWhenTheWebhookBelongsToAnotherApp()
    {
        await using var h = await StartAsync();
        var delivery = await h.ProcessFixtureAsync("ping", "with-app_id.payload.json");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        Assert.Equal("109948940", (await db.AppState.SingleAsync(s => s.Key == "webhook.hook_id")).Value);
        Assert.Equal("29310", (await db.AppState.SingleAsync(s => s.Key == "webhook.app_id")).Value);
        Assert.Contains(h.Services.Logs.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning &&
            r.Message.Contains("for App id 29310, but it came to App default's webhook URL, configured as App id 12345 (GitHub:AppId)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task YourOwnHandler_RunsAfterTheModel_SeesItsWrites_AndTakesWhatTheModelPassesOn()
    {
        var seen = new List<string>();
        await using var h = await ModelHarness.StartAsync(configure: services => new Hubgate.Webhooks.WebhookBuilder(services).On("push", async (context, token) =>
        {
            var db = (HubgateDbContext)context.Services.GetService(typeof(HubgateDbContext))!;
            seen.Add($"{context.DeliveryId}:{await db.Commits.CountAsync(token)}");
        }));
        h.GitHub.AddInstallation(1, "Codertocat");

        var modelled = await h.ProcessFixtureAsync("push", "with-new-branch.payload.json", "with-installation");
        var notForTheModel = await h.ProcessFixtureAsync("push", "payload.json", "repository-hook");

        Assert.Equal(["with-installation:1", "repository-hook:1"], seen);
        Assert.Equal(DeliveryState.Processed, modelled.State);
        Assert.Equal(DeliveryState.Processed, notForTheModel.State); // your handler took it, so it is not "ignored"
        Assert.Null(notForTheModel.IgnoredReason);
    }
}
