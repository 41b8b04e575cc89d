using System.Text.Json.Nodes;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Integrations;

/// <summary><c>installation</c> and <c>installation_repositories</c> with GitHub's real payloads.</summary>
public sealed class InstallationEventsTests
{
    [Fact]
    public async Task Created_UpsertsTheInstallationAndItsRepositories()
    {
        await using var h = await ModelHarness.StartAsync();
        var delivery = await h.ProcessFixtureAsync("installation", "created.payload.json");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var db = await h.DbAsync();
        var installation = await db.Installations.SingleAsync(i => i.Id == 957387);
        Assert.Equal(InstallationStatus.Active, installation.Status);
        Assert.Equal(29310, installation.AppId);
        Assert.Equal("Codertocat", installation.AccountLogin);
        Assert.Equal(21031067, installation.AccountId);
        Assert.Equal("User", installation.AccountType);
        Assert.Equal("User", installation.TargetType);
        Assert.Equal("selected", installation.RepositorySelection);
        Assert.Contains("\"pull_requests\":\"write\"", installation.PermissionsJson, StringComparison.Ordinal);
        Assert.Equal("[]", installation.EventsJson);
        var repository = await db.Repositories.SingleAsync();
        Assert.Equal((186853002L, 957387L, "Hello-World", "Codertocat/Hello-World", "Codertocat", false, RepositoryStatus.Active),
            (repository.Id, repository.InstallationId, repository.Name, repository.FullName, repository.OwnerLogin, repository.Private, repository.Status));
    }

    [Fact]
    public async Task CreatedAgain_UpdatesWithoutWipingTheTokenState()
    {
        await using var h = await ModelHarness.StartAsync();
        await h.ProcessFixtureAsync("installation", "created.payload.json");
        var expires = new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);
        await using (var db = await h.DbAsync())
        {
            await db.Installations.Where(i => i.Id == 957387).ExecuteUpdateAsync(s => s
                .SetProperty(i => i.TokenCiphertext, "ciphertext-stand-in")
                .SetProperty(i => i.TokenExpiresAt, expires)
                .SetProperty(i => i.AccountLogin, "stale-name"));
        }

        var again = await h.ProcessFixtureAsync("installation", "created.with-requester.payload.json");

        Assert.Equal(DeliveryState.Processed, again.State);
        await using var check = await h.DbAsync();
        var installation = await check.Installations.SingleAsync(i => i.Id == 957387);
        Assert.Equal("ciphertext-stand-in", installation.TokenCiphertext);
        Assert.Equal(expires, installation.TokenExpiresAt);
        Assert.Equal("Codertocat", installation.AccountLogin);
    }

    [Fact]
    public async Task Deleted_StatusDeleted_RepositoriesDisabledNotRemoved_TokenDropped()
    {
        await using var h = await ModelHarness.StartAsync();
        // The installation is known, with a repository and a cached token, before GitHub says it was uninstalled.
        await h.ProcessAsync("installation", ModelHarness.Edit("installation", "deleted.payload.json", p => p["action"] = "created"));
        await using (var db = await h.DbAsync())
        {
            Assert.Equal(RepositoryStatus.Active, (await db.Repositories.SingleAsync(r => r.Id == 1296269)).Status);
            await db.Installations.Where(i => i.Id == 2).ExecuteUpdateAsync(s => s.SetProperty(i => i.TokenCiphertext, "x"));
        }

        var delivery = await h.ProcessFixtureAsync("installation", "deleted.payload.json");

        Assert.Equal(DeliveryState.Processed, delivery.State);
        await using var check = await h.DbAsync();
        var installation = await check.Installations.SingleAsync(i => i.Id == 2);
        Assert.Equal(InstallationStatus.Deleted, installation.Status);
        Assert.NotNull(installation.DeletedAt);
        Assert.Null(installation.TokenCiphertext);
        Assert.Equal(RepositoryStatus.Disabled, (await check.Repositories.SingleAsync(r => r.Id == 1296269)).Status);
    }

    [Fact]
    public async Task CreatedArrivingAfterDeleted_StaysDeleted_IgnoredWithTheReason()
    {
        await using var h = await ModelHarness.StartAsync();
        var created = ModelHarness.Edit("installation", "deleted.payload.json", p => p["action"] = "created");
        await h.ProcessAsync("installation", created, "created-first");
        await h.ProcessFixtureAsync("installation", "deleted.payload.json");

        var late = await h.ProcessAsync("installation", created, "created-again-late");

        Assert.Equal(DeliveryState.Ignored, late.State);
        Assert.Contains("installation 2 was deleted at", late.IgnoredReason, StringComparison.Ordinal);
        await using var db = await h.DbAsync();
        Assert.Equal(InstallationStatus.Deleted, (await db.Installations.SingleAsync(i => i.Id == 2)).Status);
        Assert.Equal(RepositoryStatus.Disabled, (await db.Repositories.SingleAsync(r => r.Id == 1296269)).Status);
    }

    [Fact]
    public async Task Suspend_ThenUnsuspend()
    {
        await using var h = await ModelHarness.StartAsync();
        await h.ProcessFixtureAsync("installation", "suspend.payload.json");
        await using (var db = await h.DbAsync())
        {
            var suspended = await db.Installations.SingleAsync(i => i.Id == 16598467);
            Assert.Equal(InstallationStatus.Suspended, suspended.Status);
            Assert.Equal(DateTimeOffset.Parse("2021-04-29T02:32:50Z", System.Globalization.CultureInfo.InvariantCulture), suspended.SuspendedAt);
            Assert.Equal("Organization", suspended.TargetType);
        }

        await h.ProcessFixtureAsync("installation", "unsuspend.payload.json");
        await using var check = await h.DbAsync();
        var active = await check.Installations.SingleAsync(i => i.Id == 16598467);
        Assert.Equal(InstallationStatus.Active, active.Status);
        Assert.Null(active.SuspendedAt);
    }

    [Fact]
    public async Task NewPermissionsAccepted_PermissionsUpdated_TokenDroppedSoTheNextCarriesThem()
    {
        await using var h = await ModelHarness.StartAsync();
        await h.ProcessFixtureAsync("installation", "created.payload.json");
        await using (var db = await h.DbAsync())
        {
            await db.Installations.Where(i => i.Id == 957387).ExecuteUpdateAsync(s => s
                .SetProperty(i => i.TokenCiphertext, "x")
                .SetProperty(i => i.PermissionsJson, "{\"metadata\":\"read\"}"));
        }

        await h.ProcessAsync("installation", ModelHarness.Edit("installation", "new_permissions_accepted.payload.json",
            p => p["installation"]!["permissions"]!["issues"] = "write"));

        await using var check = await h.DbAsync();
        var installation = await check.Installations.SingleAsync(i => i.Id == 957387);
        Assert.Null(installation.TokenCiphertext);
        Assert.Contains("\"issues\":\"write\"", installation.PermissionsJson, StringComparison.Ordinal);
        Assert.Contains("\"administration\":\"write\"", installation.PermissionsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepositoriesAdded_Active_Removed_Disabled()
    {
        await using var h = await ModelHarness.StartAsync();
        await h.ProcessFixtureAsync("installation_repositories", "added.payload.json");
        await h.ProcessFixtureAsync("installation_repositories", "removed.payload.json");
        // Removed and then added back.
        await h.ProcessAsync("installation_repositories", ModelHarness.Edit("installation_repositories", "removed.payload.json", p =>
        {
            p["action"] = "added";
            p["repositories_added"] = p["repositories_removed"]!.DeepClone();
            p["repositories_removed"] = new JsonArray();
        }));
        await h.ProcessFixtureAsync("installation_repositories", "removed.payload.json");

        await using var db = await h.DbAsync();
        var space = await db.Repositories.SingleAsync(r => r.FullName == "Codertocat/Space");
        Assert.Equal((957387L, RepositoryStatus.Active, "Codertocat"), (space.InstallationId, space.Status, space.OwnerLogin));
        var removed = await db.Repositories.SingleAsync(r => r.FullName == "octocat/Hello-World");
        Assert.Equal((2L, RepositoryStatus.Disabled), (removed.InstallationId, removed.Status));
        Assert.Equal("selected", (await db.Installations.SingleAsync(i => i.Id == 957387)).RepositorySelection);
        Assert.Equal(2, await db.Installations.CountAsync());
    }

    [Fact]
    public async Task EveryFixture_ProcessedTwice_LeavesTheSameState()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(1, "Codertocat");
        foreach (var fixture in WebhookFixtures.All())
        {
            await h.ProcessAsync(fixture.Event, fixture.Body, "first-" + fixture.Event + "-" + fixture.Name);
        }

        var before = await SnapshotAsync(h);
        await using (var db = await h.DbAsync())
        {
            // Replayed: the same deliveries processed a second time.
            await db.LocalRows().ExecuteUpdateAsync(s => s.SetProperty(d => d.State, DeliveryState.Pending).SetProperty(d => d.Attempts, 0));
        }

        await h.DrainAsync();
        var after = await SnapshotAsync(h);

        Assert.Equal(before, after);
        await using var check = await h.DbAsync();
        Assert.DoesNotContain(await check.LocalDeliveries().Select(d => d.State).ToListAsync(), s => s is DeliveryState.Failed or DeliveryState.Dead);
    }

    private static async Task<string> SnapshotAsync(ModelHarness h)
    {
        await using var db = await h.DbAsync();
        var installations = await db.Installations.OrderBy(i => i.Id)
            .Select(i => $"{i.Id}|{i.Status}|{i.AccountLogin}|{i.PermissionsJson}|{i.SuspendedAt}|{i.DeletedAt}").ToListAsync();
        var repositories = await db.Repositories.OrderBy(r => r.Id)
            .Select(r => $"{r.Id}|{r.InstallationId}|{r.FullName}|{r.Status}|{r.Private}|{r.DefaultBranch}|{r.LastPushSha}").ToListAsync();
        var commits = await db.Commits.OrderBy(c => c.Id).Select(c => $"{c.RepositoryId}|{c.Sha}|{c.Message}|{c.FileChanges.Count}").ToListAsync();
        var pulls = await db.PullRequests.OrderBy(p => p.Id).Select(p => $"{p.RepositoryId}|{p.Number}|{p.State}|{p.Title}|{p.MergeCommitSha}").ToListAsync();
        var pushes = await db.Pushes.CountAsync();
        return string.Join('\n', installations.Concat(repositories).Concat(commits).Concat(pulls)) + $"\npushes={pushes}";
    }
}
