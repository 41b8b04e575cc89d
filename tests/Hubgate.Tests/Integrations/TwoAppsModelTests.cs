using Hubgate.Testing;
using Hubgate.Integrations;
using Hubgate.Storage;
using Hubgate.Tests.Webhooks;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Tests.Integrations;

/// <summary>
/// Two Apps in one store: GitHub's delivery ids are unique per App and installation and repository ids per GitHub
/// instance, so the same ids from the App <c>default</c> and the App <c>ghes</c> are different deliveries, installations
/// and repositories, each processed into its own App's rows.
/// </summary>
public sealed class TwoAppsModelTests
{
    private const string Ghes = "ghes";
    private const long PushRepository = 186853002;

    [Fact]
    public async Task SameDeliveryId_ToTwoApps_IsStoredTwice_AndBothAreProcessed_ButRepeatedToOneAppIsADuplicate()
    {
        await using var h = await ModelHarness.StartAsync();
        var ping = WebhookFixtures.Load("ping", "with-app_id.payload.json");

        Assert.Equal(InboxOutcome.Stored, await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "same-id"));
        Assert.Equal(InboxOutcome.Stored, await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "same-id", Ghes));
        Assert.Equal(InboxOutcome.Duplicate, await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "same-id", Ghes));
        await h.DrainAsync();

        await using var db = await h.DbAsync();
        var stored = await db.LocalDeliveries().Where(d => d.DeliveryId == "same-id").OrderBy(d => d.App).ToListAsync();
        Assert.Equal([(StoredApp.Default, DeliveryState.Processed), (Ghes, DeliveryState.Processed)], stored.Select(d => (d.App, d.State)));
        // Each App's ping is kept under that App: its hook id is its own fact, not the other App's.
        Assert.Equal([StoredApp.Default, Ghes],
            await db.AppState.Where(s => s.Key == PingEvents.HookIdKey).OrderBy(s => s.App).Select(s => s.App).ToListAsync());
    }

    [Fact]
    public async Task Redelivery_OfADeadDelivery_RequeuesOnlyThatAppsDelivery()
    {
        await using var h = await ModelHarness.StartAsync();
        var ping = WebhookFixtures.Load("ping", "payload.json");
        await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "dead-one");
        await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "dead-one", Ghes);
        await h.Services.Get<FanOut>().RunAsync(CancellationToken.None);
        await using (var db = await h.DbAsync())
        {
            await db.LocalRowsOf("dead-one").ExecuteUpdateAsync(s => s.SetProperty(d => d.State, DeliveryState.Dead));
        }

        Assert.Equal(InboxOutcome.Requeued, await WebhookTestKit.StoreAsync(h.Services, "ping", ping, "dead-one", Ghes));

        Assert.Equal(DeliveryState.Dead, (await WebhookTestKit.ReadAsync(h.Services, "dead-one")).State);
        Assert.Equal(DeliveryState.Pending, (await WebhookTestKit.ReadAsync(h.Services, "dead-one", Ghes)).State);
        Assert.True(await h.Services.Get<WebhookInbox>().ReplayAsync(StoredApp.Default, "dead-one"));
        Assert.False(await h.Services.Get<WebhookInbox>().ReplayAsync("other", "dead-one"));
    }

    [Fact]
    public async Task InstallationDeleted_ForOneApp_LeavesTheOtherAppsInstallationOfTheSameId()
    {
        await using var h = await ModelHarness.StartAsync();
        var created = ModelHarness.Edit("installation", "deleted.payload.json", p => p["action"] = "created");
        await h.ProcessAsync("installation", created);
        await h.ProcessAsync("installation", created, app: Ghes);
        await using (var db = await h.DbAsync())
        {
            Assert.Equal([StoredApp.Default, Ghes], await db.Installations.Where(i => i.Id == 2).OrderBy(i => i.App).Select(i => i.App).ToListAsync());
            await db.Installations.Where(i => i.Id == 2).ExecuteUpdateAsync(s => s.SetProperty(i => i.TokenCiphertext, "x"));
        }

        var deleted = await h.ProcessFixtureAsync("installation", "deleted.payload.json", app: Ghes);

        Assert.Equal(DeliveryState.Processed, deleted.State);
        await using var check = await h.DbAsync();
        var installations = await check.Installations.AsNoTracking().Where(i => i.Id == 2).OrderBy(i => i.App).ToListAsync();
        Assert.Equal([(StoredApp.Default, InstallationStatus.Active, "x"), (Ghes, InstallationStatus.Deleted, "x")],
            installations.Select(i => (i.App, i.Status, i.TokenCiphertext)));
        var repositories = await check.Repositories.AsNoTracking().Where(r => r.Id == 1296269).OrderBy(r => r.App).ToListAsync();
        Assert.Equal([(StoredApp.Default, RepositoryStatus.Active), (Ghes, RepositoryStatus.Disabled)], repositories.Select(r => (r.App, r.Status)));
    }

    [Fact]
    public async Task PushToTheSameRepositoryId_OfTwoApps_GoesToEachAppsOwnRows()
    {
        await using var h = await ModelHarness.StartAsync();
        h.GitHub.AddInstallation(1, "Codertocat", accountType: "User");
        // The ghes App's installation 1 is known from its own installation event (the default App's is looked up on GitHub).
        await h.ProcessAsync("installation", ModelHarness.Edit("installation", "deleted.payload.json", p =>
        {
            p["action"] = "created";
            p["installation"]!["id"] = 1;
            p["installation"]!["account"]!["login"] = "ghes-org";
            p["repositories"] = new System.Text.Json.Nodes.JsonArray();
        }), app: Ghes);

        var first = await h.ProcessFixtureAsync("push", "with-new-branch.payload.json", "push-1");
        var second = await h.ProcessFixtureAsync("push", "with-new-branch.payload.json", "push-1", Ghes);

        Assert.Equal((DeliveryState.Processed, DeliveryState.Processed), (first.State, second.State));
        await using var db = await h.DbAsync();
        Assert.Equal([(StoredApp.Default, "Codertocat"), (Ghes, "ghes-org")],
            (await db.Installations.AsNoTracking().Where(i => i.Id == 1).OrderBy(i => i.App).ToListAsync()).Select(i => (i.App, i.AccountLogin)));
        Assert.Equal([StoredApp.Default, Ghes],
            await db.Repositories.Where(r => r.Id == PushRepository).OrderBy(r => r.App).Select(r => r.App).ToListAsync());
        var commits = await db.Commits.AsNoTracking().Include(c => c.FileChanges).OrderBy(c => c.App).ToListAsync();
        Assert.Equal([(StoredApp.Default, PushRepository, 1), (Ghes, PushRepository, 1)], commits.Select(c => (c.App, c.RepositoryId, c.FileChanges.Count)));
        Assert.Equal(commits[0].Sha, commits[1].Sha);
        Assert.Equal([(StoredApp.Default, "push-1", 1), (Ghes, "push-1", 1)],
            (await db.Pushes.AsNoTracking().OrderBy(p => p.App).ToListAsync()).Select(p => (p.App, p.DeliveryId, p.CommitsStored)));
    }
}
