using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// SQLite's write lock held by another process (a backup, an operator's sqlite3 shell) longer than ingest may wait:
/// 503 within <c>Webhooks:StoreTimeout</c> — never a 500, never a hang past GitHub's 10 s — and ingest recovers by itself
/// when the lock goes. (PostgreSQL unreachable: Replicas/DatabaseOutageTests.)
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class DatabaseLockedTests
{
    private const string Secret = "locked-webhook-secret";

    [Fact]
    public async Task WriteLockHeldElsewhere_503WithinTheStoreTimeout_ThenAcceptedAgain_NothingAcknowledgedLost()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:StoreTimeout"] = "00:00:01",
            ["Webhooks:PollInterval"] = "00:00:00.050",
        });
        using var client = app.CreateClient();
        var body = WebhookFixtures.Load("ping", "payload.json");
        var answers = new List<(string Id, HttpStatusCode Status)>();

        async Task<HttpStatusCode> SendAsync(string id)
        {
            using var request = WebhookFixtures.Delivery("/webhooks/github", "ping", body, Secret, id);
            using var response = await client.SendAsync(request);
            lock (answers)
            {
                answers.Add((id, response.StatusCode));
            }

            return response.StatusCode;
        }

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await SendAsync($"before-{i}"));
        }

        var locked = System.Diagnostics.Stopwatch.StartNew();
        var whileLocked = new List<HttpStatusCode>();
        await using (var holder = new SqliteConnection($"Data Source={app.DatabasePath};Pooling=False"))
        {
            await holder.OpenAsync();
            await using (var begin = new SqliteCommand("BEGIN EXCLUSIVE", holder))
            {
                await begin.ExecuteNonQueryAsync();
            }

            whileLocked.AddRange(await Task.WhenAll(Enumerable.Range(0, 5).Select(i => SendAsync($"locked-{i}"))));
            await using var rollback = new SqliteCommand("ROLLBACK", holder);
            await rollback.ExecuteNonQueryAsync();
        }

        var lockedFor = locked.Elapsed;

        // After the lock: new deliveries are accepted, and GitHub's redelivery of the refused ones is answered 202 (or
        // 200 when the write had gone through after the 503).
        foreach (var id in Enumerable.Range(0, 10).Select(i => $"after-{i}").Concat(Enumerable.Range(0, 5).Select(i => $"locked-{i}")))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (await SendAsync(id) is not (HttpStatusCode.Accepted or HttpStatusCode.OK) && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100);
            }
        }

        Assert.All(whileLocked, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        Assert.True(lockedFor < TimeSpan.FromSeconds(9), $"the refusals took {lockedFor}: past GitHub's 10 s");
        Assert.DoesNotContain(answers, a => (int)a.Status >= 500 && a.Status != HttpStatusCode.ServiceUnavailable);
        var acknowledged = answers.Where(a => a.Status is HttpStatusCode.Accepted or HttpStatusCode.OK).Select(a => a.Id).ToHashSet();
        Assert.Equal(25, acknowledged.Count);

        var contexts = app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        List<string> processed = [];
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30) && processed.Count < 25; await Task.Delay(100))
        {
            await using var db = await contexts.CreateDbContextAsync();
            processed = await db.LocalDeliveries().Where(d => d.State == DeliveryState.Processed).Select(d => d.DeliveryId).ToListAsync();
        }

        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), processed.Order(StringComparer.Ordinal));
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Id.Id == 316);
    }
}
