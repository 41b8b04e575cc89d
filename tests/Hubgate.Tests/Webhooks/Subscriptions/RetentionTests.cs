using Hubgate.Storage;
using Hubgate.Telemetry;
using Hubgate.Testing;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks.Subscriptions;

/// <summary>
/// Retention as the scheduler runs it, on a fake wall clock (its timers are real, so <c>Webhooks:PruneInterval</c> is
/// short): what every subscription is done with goes after <c>Webhooks:Retention</c>; what a paused subscription still
/// owes stays until <c>Webhooks:MaxRetention</c>, then goes too, counted as expired for that subscription.
/// </summary>
public sealed class RetentionTests
{
    private const string Held = "held-for-retention";

    private static async Task<List<(long Seq, string Subscription, DeliveryState State)>> RowsAsync(TestServices services)
    {
        await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return [.. (await db.SubscriptionDeliveries.AsNoTracking().ToListAsync()).Select(r => (r.DeliverySeq, r.Subscription, r.State))];
    }

    private static async Task<List<string>> DeliveryIdsAsync(TestServices services)
    {
        await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.WebhookDeliveries.Select(d => d.DeliveryId).OrderBy(d => d).ToListAsync();
    }

    /// <summary>A paused HTTP subscription <see cref="Held"/> of pushes: what it is handed, it owes.</summary>
    private static void HoldPushes(Dictionary<string, string?> settings)
    {
        settings["Subscriptions:AllowLoopback"] = "true";
        settings[$"Subscriptions:{Held}:Url"] = "http://127.0.0.1:9/held";
        settings[$"Subscriptions:{Held}:Secret"] = "retention-subscription-secret-32";
        settings[$"Subscriptions:{Held}:Events:0"] = "push";
        settings[$"Subscriptions:{Held}:Paused"] = "true";
    }

    private static async Task WaitAsync(Func<Task<bool>> done, Func<Task<string>> state)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await done())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.Fail($"Not within 30 s: {await state()}");
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task DoneDeliveriesArePruned_APausedSubscriptionsOwedOnesAreKeptUntilMaxRetention_ThenPrunedAndCountedExpired()
    {
        var settings = Settings();
        settings["Webhooks:Retention"] = "00:10:00";
        settings["Webhooks:MaxRetention"] = "01:00:00";
        settings["Webhooks:PruneInterval"] = "00:00:00.100";
        settings["Webhooks:PollInterval"] = "00:00:00.050";
        HoldPushes(settings);
        using var expired = new MetricCollector<long>(HubgateTelemetry.DeliveriesFinished);
        await using var services = await TestServices.StartAsync(settings);
        var scheduler = services.Get<SubscriptionScheduler>();
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            await StoreFixtureAsync(services, "push", "payload.json", "owed-push");
            await StoreFixtureAsync(services, "pull_request", "opened.payload.json", "done-pr");
            // local is done with both (no handler: ignored); the paused subscription owes the push.
            await WaitAsync(async () => (await RowsAsync(services)) is { Count: 3 } rows && rows.Count(r => r.Subscription == "local" && r.State == DeliveryState.Ignored) == 2,
                async () => string.Join(", ", await RowsAsync(services)));

            services.Time.Advance(TimeSpan.FromMinutes(11)); // past Retention
            await WaitAsync(async () => (await DeliveryIdsAsync(services)).Count == 1, async () => string.Join(", ", await DeliveryIdsAsync(services)));
            Assert.Equal(["owed-push"], await DeliveryIdsAsync(services));
            var kept = Assert.Single(await RowsAsync(services), r => r.Subscription == Held);
            Assert.Equal(DeliveryState.Pending, kept.State);
            await Task.Delay(300); // several more prune runs: still kept
            Assert.Equal(["owed-push"], await DeliveryIdsAsync(services));

            services.Time.Advance(TimeSpan.FromMinutes(50)); // past MaxRetention
            await WaitAsync(async () => (await DeliveryIdsAsync(services)).Count == 0, async () => string.Join(", ", await DeliveryIdsAsync(services)));
            Assert.Empty(await RowsAsync(services));
            var counted = expired.GetMeasurementSnapshot().Where(m => m.Tags.TryGetValue("subscription", out var s) && Equals(s, Held)).ToList();
            Assert.Equal(1, Assert.Single(counted, m => Equals(m.Tags["state"], "expired")).Value);
            Assert.Contains(services.Logs.GetSnapshot(), r => r.Message.Contains($"expired 1 deliveries still owed to subscription {Held}", StringComparison.Ordinal));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task APass_TakesDoneDeliveriesInSequenceOrderAfterItsCursor_PassingOverWhatIsOwedOnce_AndTheNextPassStartsAgain()
    {
        var settings = Settings();
        settings["Webhooks:PruneInterval"] = "01:00:00"; // the steps are taken by the test
        settings["Webhooks:PollInterval"] = "00:00:00.050";
        HoldPushes(settings);
        await using var services = await TestServices.StartAsync(settings);
        var scheduler = services.Get<SubscriptionScheduler>();
        var store = services.Get<Hubgate.Webhooks.Store.DeliveryStore>();
        await scheduler.StartAsync(CancellationToken.None);
        try
        {
            // done, owed, owed, done, done, done: in sequence order.
            string[] ids = ["r1", "r2-owed", "r3-owed", "r4", "r5", "r6"];
            foreach (var id in ids)
            {
                await (id.EndsWith("-owed", StringComparison.Ordinal)
                    ? StoreFixtureAsync(services, "push", "payload.json", id)
                    : StoreFixtureAsync(services, "pull_request", "opened.payload.json", id));
            }

            await WaitAsync(async () => (await RowsAsync(services)) is { Count: 8 } rows && rows.Count(r => r.Subscription == "local" && r.State == DeliveryState.Ignored) == 6,
                async () => string.Join(", ", await RowsAsync(services)));
            services.Time.Advance(TimeSpan.FromMinutes(11));
            var now = services.Time.GetUtcNow();
            var (before, maxBefore) = (now.AddMinutes(-10), now.AddDays(-30));
            var horizon = await store.PruneHorizonAsync(before, default);
            await using (var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
            {
                Assert.Equal(await db.WebhookDeliveries.MaxAsync(d => d.Id), horizon);
            }

            var first = await store.PruneAsync(before, maxBefore, 2, 0, horizon, default);
            Assert.Equal(2, first.Pruned);
            Assert.Equal(["r2-owed", "r3-owed", "r5", "r6"], await DeliveryIdsAsync(services));

            // The subscription is done with what it owed, behind the cursor: this pass goes on past it.
            await using (var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
            {
                await db.SubscriptionDeliveries.Where(r => r.Subscription == Held).ExecuteUpdateAsync(u => u.SetProperty(r => r.State, DeliveryState.Processed));
            }

            var second = await store.PruneAsync(before, maxBefore, 2, first.Next!.Value, horizon, default);
            Assert.Equal(2, second.Pruned);
            var third = await store.PruneAsync(before, maxBefore, 2, second.Next!.Value, horizon, default);
            Assert.Equal((0, (long?)null), (third.Pruned, third.Next));
            Assert.Equal(["r2-owed", "r3-owed"], await DeliveryIdsAsync(services));

            var nextPass = await store.PruneAsync(before, maxBefore, 2, 0, horizon, default);
            Assert.Equal(2, nextPass.Pruned);
            Assert.Empty(await DeliveryIdsAsync(services));
            Assert.Empty(await RowsAsync(services));
        }
        finally
        {
            await scheduler.StopAsync(CancellationToken.None);
        }
    }
}
