using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// A 60-second soak at a steady 20 deliveries a second of mixed events — push (new commits each time), pull_request
/// (with a slow extra handler, 100 ms), installation, and events nobody handles — through the real endpoint, worker
/// and model: nothing lost, the queue drained at the end, and the managed heap after the run within 64 MiB of what it
/// was after warm-up. Runs once (SQLite), alone: the heap is the test process's, so no other test may run beside it
/// (test.sh runs it in a test process of its own, beside the PostgreSQL pass).
/// </summary>
[Trait("Database", "Sqlite")]
[Collection(RunsAlone.Name)]
public sealed class SoakTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "soak-webhook-secret";
    private const int PerSecond = 20;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(60);
    private const long HeapGrowthBound = 64L * 1024 * 1024;
    private static readonly byte[] PullRequest = WebhookFixtures.Load("pull_request", "opened.payload.json");
    private static readonly byte[] Installation = WebhookFixtures.Load("installation", "created.payload.json");
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private static (string Event, byte[] Body) Next(int n) => (n % 4) switch
    {
        0 => ("push", WebhookFixtures.PushOfOneCommit(n + 5_000_000, 1)),
        1 => ("pull_request", PullRequest),
        2 => ("installation", Installation),
        _ => ("deployment_status", "{\"action\":\"created\",\"deployment_status\":{\"state\":\"success\"}}"u8.ToArray()),
    };

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    [Fact]
    public async Task SixtySecondsOfMixedEvents_WithASlowHandler_NothingLost_QueueDrained_HeapBounded()
    {
        var slowRuns = 0;
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:PollInterval"] = "00:00:00.100",
        }, services => new WebhookBuilder(services).On("pull_request", async (_, token) =>
        {
            await Task.Delay(100, token); // a slow downstream call
            Interlocked.Increment(ref slowRuns);
        }));
        using var client = app.CreateClient();
        var answers = new ConcurrentDictionary<string, HttpStatusCode>();
        var sends = new List<Task>();
        long heapAfterWarmUp = 0;

        var clock = Stopwatch.StartNew();
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1000.0 / PerSecond));
        var n = 0;
        while (clock.Elapsed < Duration && await tick.WaitForNextTickAsync())
        {
            var (@event, body) = Next(n);
            var id = $"soak-{n++}";
            sends.Add(Task.Run(async () =>
            {
                using var request = WebhookFixtures.Delivery("/webhooks/github", @event, body, Secret, id);
                using var response = await client.SendAsync(request);
                answers[id] = response.StatusCode;
            }));
            if (heapAfterWarmUp == 0 && clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                heapAfterWarmUp = Heap();
            }
        }

        await Task.WhenAll(sends);
        var sent = n;

        var contexts = app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        Dictionary<DeliveryState, int> states = [];
        var drainClock = Stopwatch.StartNew();
        while (drainClock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await using var db = await contexts.CreateDbContextAsync();
            // Grouped here, not in SQL: EF Core groups the view's CASE (no row yet → pending) wrongly, as one key.
            states = (await db.LocalDeliveries().Select(d => d.State).ToListAsync()).GroupBy(state => state).ToDictionary(g => g.Key, g => g.Count());
            if (states.Where(s => s.Key is DeliveryState.Processed or DeliveryState.Ignored).Sum(s => s.Value) == sent)
            {
                break;
            }

            await Task.Delay(200);
        }

        var drainedIn = drainClock.Elapsed;
        var heapAtEnd = Heap();

        Assert.Equal(sent, answers.Count);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.Value));
        Assert.Equal(sent, states.Values.Sum());
        Assert.Equal(sent, states.Where(s => s.Key is DeliveryState.Processed or DeliveryState.Ignored).Sum(s => s.Value));
        Assert.Equal((sent + 2) / 4, Volatile.Read(ref slowRuns)); // the pull_request deliveries, each once
        await using (var db = await contexts.CreateDbContextAsync())
        {
            Assert.Equal((sent + 3) / 4, await db.Commits.CountAsync());
        }

        Assert.True(heapAtEnd - heapAfterWarmUp < HeapGrowthBound,
            $"managed heap grew {(heapAtEnd - heapAfterWarmUp) / 1024} KiB (bound {HeapGrowthBound / 1024} KiB)");
        output.WriteLine($"sent {sent} over {Duration.TotalSeconds:0} s ({PerSecond}/s), accepted {answers.Count(a => a.Value == HttpStatusCode.Accepted)}, " +
                         $"states {string.Join(", ", states.Select(s => $"{s.Key}={s.Value}"))}, drained {drainedIn.TotalSeconds:0.0} s after the last send, " +
                         $"heap after warm-up {heapAfterWarmUp / 1024} KiB, at end {heapAtEnd / 1024} KiB (growth {(heapAtEnd - heapAfterWarmUp) / 1024} KiB), lost 0");
    }
}

/// <summary>Tests that measure the process (memory) run after the parallel ones, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Runs alone";
}
