using Hubgate.Integrations;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Integrations;

/// <summary>Sync against the fake GitHub: pagination, repositories and installations gone on GitHub's side, suspension.</summary>
public sealed class InstallationSyncTests
{
    [Fact]
    public async Task Sync_SecondaryLimit429WithoutRetryAfter_AsksOnce_AndReportsItAsASecondaryLimit()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(10, "busy-org");
        h.GitHub.AddRepository(10, 100_001, "busy-org", "one");
        h.GitHub.BlockSecondary(10, TimeSpan.FromMinutes(5), Hubgate.Testing.FakeSecondaryLimit.TooManyRequests);

        var result = await h.Services.Get<InstallationSync>().SyncAsync();

        Assert.Single(h.GitHub.Requests, r => r.Path == "/installation/repositories" && r.InstallationId == 10);
        Assert.Contains(result.Errors, e => e.Contains("secondary rate limit", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Sync_250Repositories_AcrossPages_ThenRemovalsOnGitHubsSide()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(10, "big-org");
        for (var i = 1; i <= 250; i++)
        {
            h.GitHub.AddRepository(10, 100_000 + i, "big-org", $"repo-{i:000}", isPrivate: i % 2 == 0);
        }

        h.GitHub.AddInstallation(20, "small-org", accountType: "User");
        h.GitHub.AddRepository(20, 200_001, "small-org", "one");
        h.GitHub.AddInstallation(30, "paused-org");
        h.GitHub.SuspendInstallation(30);
        var progress = new List<SyncProgress>();

        var first = await h.Services.Get<InstallationSync>().SyncAsync(new Inline<SyncProgress>(progress.Add));

        Assert.Equal((3, 3, 0, 1, 251, 251, 0, 0), (first.InstallationsSeen, first.InstallationsAdded, first.InstallationsRemoved,
            first.InstallationsSuspended, first.RepositoriesSeen, first.RepositoriesAdded, first.RepositoriesDisabled, first.Errors.Count));
        Assert.Equal([(10L, 250), (20L, 1), (30L, 0)], progress.Select(p => (p.InstallationId, p.Repositories)));
        // 250 repositories are three pages of 100, each fetched with the installation's own token.
        Assert.Equal(["?per_page=100", "?per_page=100&page=2", "?per_page=100&page=3"], h.GitHub.Requests
            .Where(r => r.Path == "/installation/repositories" && r.InstallationId == 10 && r.Status == 200).Select(r => r.Query));
        await using (var db = await h.DbAsync())
        {
            Assert.Equal(250, await db.Repositories.CountAsync(r => r.InstallationId == 10 && r.Status == RepositoryStatus.Active));
            Assert.Equal(125, await db.Repositories.CountAsync(r => r.InstallationId == 10 && r.Private));
            var big = await db.Installations.SingleAsync(i => i.Id == 10);
            Assert.Equal(("big-org", InstallationStatus.Active), (big.AccountLogin, big.Status));
            Assert.NotNull(big.SyncedAt);
            Assert.Equal(InstallationStatus.Suspended, (await db.Installations.SingleAsync(i => i.Id == 30)).Status);
        }

        // On GitHub's side: a repository removed from the big installation, the small installation uninstalled.
        h.GitHub.RemoveRepository(10, 100_007);
        h.GitHub.RemoveInstallation(20);
        var second = await h.Services.Get<InstallationSync>().SyncAsync();

        Assert.Equal((2, 0, 1, 249, 0, 2), (second.InstallationsSeen, second.InstallationsAdded, second.InstallationsRemoved,
            second.RepositoriesSeen, second.RepositoriesAdded, second.RepositoriesDisabled));
        Assert.True(second.Changed);
        await using (var db = await h.DbAsync())
        {
            Assert.Equal(RepositoryStatus.Disabled, (await db.Repositories.SingleAsync(r => r.Id == 100_007)).Status);
            var small = await db.Installations.SingleAsync(i => i.Id == 20);
            Assert.Equal(InstallationStatus.Deleted, small.Status);
            Assert.NotNull(small.DeletedAt);
            Assert.Equal(RepositoryStatus.Disabled, (await db.Repositories.SingleAsync(r => r.Id == 200_001)).Status);
            Assert.Equal(251, await db.Repositories.CountAsync()); // kept, never removed
        }

        // Nothing changed since: a third run changes nothing; the repository added back is re-enabled.
        Assert.False((await h.Services.Get<InstallationSync>().SyncAsync()).Changed);
        h.GitHub.AddRepository(10, 100_007, "big-org", "repo-007");
        var fourth = await h.Services.Get<InstallationSync>().SyncAsync();
        Assert.Equal(1, fourth.RepositoriesReactivated);
    }

    [Fact]
    public async Task Sync_RepairsAnInstallationWhoseDeletedWebhookWasLost_AndAddsOneWhoseCreatedWasLost()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(957387, "Codertocat");
        await h.ProcessFixtureAsync("installation", "created.payload.json"); // known from a webhook, with Hello-World
        h.GitHub.RemoveInstallation(957387); // uninstalled; the `deleted` webhook never arrived
        h.GitHub.AddInstallation(5, "newcomer"); // installed; the `created` webhook never arrived
        h.GitHub.AddRepository(5, 55, "newcomer", "app");

        var report = await h.Services.Get<InstallationSync>().SyncAsync();

        Assert.Equal((1, 1, 1), (report.InstallationsAdded, report.InstallationsRemoved, report.RepositoriesDisabled));
        await using var db = await h.DbAsync();
        Assert.Equal(InstallationStatus.Deleted, (await db.Installations.SingleAsync(i => i.Id == 957387)).Status);
        Assert.Equal(RepositoryStatus.Disabled, (await db.Repositories.SingleAsync(r => r.Id == 186853002)).Status);
        Assert.Equal(RepositoryStatus.Active, (await db.Repositories.SingleAsync(r => r.Id == 55)).Status);
    }

    [Fact]
    public async Task Sync_WhenGitHubCannotBeListed_MarksNothingDeleted()
    {
        await using var h = await ModelHarness.StartAsync(s => s["GitHub:ApiBaseUrl"] = "http://127.0.0.1:9/");
        await h.ProcessFixtureAsync("installation", "created.payload.json");

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => h.Services.Get<InstallationSync>().SyncAsync());

        await using var db = await h.DbAsync();
        Assert.Equal(InstallationStatus.Active, (await db.Installations.SingleAsync()).Status);
        Assert.Equal(RepositoryStatus.Active, (await db.Repositories.SingleAsync()).Status);
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
