using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>
/// SQLite: the transactions that only move subscription state (fan-out rows, claims, leases, outcomes) queue at the
/// process's write gate and commit without an fsync of their own; every other commit — the inbox's above all — stays
/// durable, whatever a pooled connection was last used for.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class StateCommitTests
{
    [Fact]
    public async Task Claim_WaitsItsTurnAtTheWriteGate_AndClaimsOnceTheGateIsFree()
    {
        await WithServicesAsync(async services =>
        {
            await StoreFixtureAsync(services, "push", "payload.json", "queued");
            Assert.Equal(1, await services.Get<FanOut>().RunAsync(CancellationToken.None));

            // The gate taken by another writer that has not reached SQLite yet: SQLite's own lock is free, so a claim that
            // went around the gate would go through at once.
            await using var holder = new SqliteConnection($"Data Source={services.DatabasePath}");
            await holder.OpenAsync();
            var gate = services.Get<SqliteWriteGate>();
            await gate.TransactionStartingAsync(holder, null!, default);
            Assert.True(gate.IsHeld);

            var now = services.Time.GetUtcNow();
            var claim = services.Get<DeliveryStore>().ClaimAsync(SubscriptionValidation.LocalName, "worker-a", 16, false, 3, now, now.AddMinutes(5),
                CancellationToken.None);
            var first = await Task.WhenAny(claim, Task.Delay(TimeSpan.FromMilliseconds(300)));
            Assert.NotSame(claim, first);

            await holder.CloseAsync(); // gives the gate back
            var claimed = await claim.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Single(claimed);
            Assert.Equal(DeliveryState.Processing, (await ReadAsync(services, "queued")).State);
            Assert.False(gate.IsHeld);
        });
    }

    [Fact]
    public async Task InboxCommit_IsDurable_OnAPooledConnectionLeftRelaxed()
    {
        await WithServicesAsync(async services =>
        {
            await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            await db.Database.OpenConnectionAsync();
            await db.Database.ExecuteSqlRawAsync("PRAGMA synchronous = NORMAL");
            Assert.Equal(1, await SynchronousAsync(db));

            var body = WebhookFixtures.Load("push", "payload.json");
            var results = await DeliveryInsert.InsertAsync(services.Get<DeliveryStore>(), db, [Delivery(services, "push", body, "durable")],
                [BodyCodec.Encode(body)], services.Time.GetUtcNow().AddDays(-1), positions: null, CancellationToken.None);

            Assert.True(results[0].Stored);
            Assert.Equal(2, await SynchronousAsync(db)); // FULL: the commit was synced before ingest could answer
        });
    }

    [Fact]
    public async Task StateTransactions_GiveTheirConnectionsBackDurable()
    {
        await WithServicesAsync(async services =>
        {
            for (var i = 0; i < 3; i++)
            {
                await StoreFixtureAsync(services, "push", "payload.json", $"d{i}");
            }

            var store = services.Get<DeliveryStore>();
            Assert.Equal(3, await services.Get<FanOut>().RunAsync(CancellationToken.None));
            var now = services.Time.GetUtcNow();
            var claimed = await store.ClaimAsync(SubscriptionValidation.LocalName, "worker-a", 16, false, 3, now, now.AddMinutes(5), CancellationToken.None);
            await store.RenewAsync(SubscriptionValidation.LocalName, "worker-a", now.AddMinutes(6), CancellationToken.None);
            var recorded = await store.FinishAsync([.. claimed.Select(c => new SubscriptionDeliveryEntity
            {
                Subscription = SubscriptionValidation.LocalName, DeliverySeq = c.Seq, Attempts = c.Attempts, State = DeliveryState.Processed,
                NextAttemptAt = now, ProcessedAt = now,
            })], "worker-a", CancellationToken.None);
            Assert.Equal([true, true, true], recorded);

            // Every connection the pool hands out now (the ones those transactions used among them) commits with FULL.
            await AssertThePoolIsDurableAsync(services);

            Assert.Equal(DeliveryState.Processed, (await ReadAsync(services, "d2")).State);
        });
    }

    [Fact]
    public async Task ModelHandlers_CommitRelaxed_AndGiveTheirConnectionBackDurable_EvenWhenTheyFail()
    {
        await using var services = await TestServices.StartAsync(Settings(), configure: s =>
        {
            s.AddSingleton<SynchronousLog>();
            s.Webhooks().AddHandler<SynchronousProbe>("ping");
        });
        try
        {
            await StoreFixtureAsync(services, "ping", "payload.json", "ping-ok");
            await StoreFixtureAsync(services, "ping", "with-app_id.payload.json", "ping-fails");
            await services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);

            // Inside the handlers, the scope's context (the model's) commits with NORMAL; the pool gets FULL back.
            Assert.Equal([1, 1], services.Get<SynchronousLog>().Seen);
            Assert.Equal(DeliveryState.Processed, (await ReadAsync(services, "ping-ok")).State);
            Assert.Equal(DeliveryState.Failed, (await ReadAsync(services, "ping-fails")).State);
            await AssertThePoolIsDurableAsync(services);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    private sealed class SynchronousLog
    {
        public List<long> Seen { get; } = [];
    }

    /// <summary>Records the setting its delivery's model context commits with, then writes; fails the second delivery after its write.</summary>
    private sealed class SynchronousProbe(HubgateDbContext db, SynchronousLog log) : IWebhookHandler
    {
        public async Task HandleAsync(WebhookContext context, CancellationToken cancellationToken)
        {
            var synchronous = await SynchronousAsync(db);
            lock (log)
            {
                log.Seen.Add(synchronous);
            }

            db.AppState.Add(new AppStateEntity { App = context.App, Key = "probe-" + context.DeliveryId, Value = "seen" });
            await db.SaveChangesAsync(cancellationToken);
            if (context.DeliveryId == "ping-fails")
            {
                throw new InvalidOperationException("the probe fails this delivery after its write");
            }
        }
    }

    /// <summary>Runs <paramref name="test"/> against fresh services, and removes their files afterwards.</summary>
    private static async Task WithServicesAsync(Func<TestServices, Task> test)
    {
        await using var services = await TestServices.StartAsync(Settings());
        try
        {
            await test(services);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    /// <summary>Every connection the pool hands out (four at once, so the ones used before are among them) commits with FULL.</summary>
    private static async Task AssertThePoolIsDurableAsync(TestServices services)
    {
        var factory = services.Get<IDbContextFactory<HubgateDbContext>>();
        var contexts = new List<HubgateDbContext>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var db = await factory.CreateDbContextAsync();
                contexts.Add(db);
                await db.Database.OpenConnectionAsync();
                Assert.Equal(2, await SynchronousAsync(db));
            }
        }
        finally
        {
            foreach (var db in contexts)
            {
                await db.DisposeAsync();
            }
        }
    }

    private static async Task<long> SynchronousAsync(HubgateDbContext db) =>
        await db.Database.SqlQueryRaw<long>("SELECT synchronous AS Value FROM pragma_synchronous").SingleAsync();
}
