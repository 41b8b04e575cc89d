using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// The server process killed with SIGKILL in the middle of a burst of 10,000 deliveries, on its default SQLite database
/// with every body in the delivery log, while it also fans them out to an HTTP subscription: after a restart every delivery it had acknowledged is stored,
/// processed exactly once by the built-in subscription and delivered at least once to the HTTP one; nothing is stored
/// twice, and the database file is intact. (The same on PostgreSQL with a second replica taking over: Replicas/ReplicaTests.)
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class CrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "crash-webhook-secret";
    private const int Count = 10_000;

    /// <summary>Attempts in flight to the sink at once (<c>Subscriptions:sink:Concurrency</c>).</summary>
    private const int SinkConcurrency = 16;

    /// <summary>
    /// The HTTP subscription's signing secret: a subscription secret is 24 to 64 bytes (SubscriptionKey); the sink does
    /// not check the signature, it only counts what arrives.
    /// </summary>
    private const string SinkSecret = "crash-sink-secret-of-at-least-32-bytes";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;
    private Sink _sink = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _sink = await Sink.StartAsync();
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        await _sink.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private string DatabasePath => Path.Combine(_directory, "hubgate.db");

    private Dictionary<string, string?> Settings() => new()
    {
        ["Database:Provider"] = "Sqlite",
        ["ConnectionStrings:Hubgate"] = $"Data Source={DatabasePath}",
        ["GitHub:WebhookSecret"] = Secret,
        ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
        ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
        ["GitHub:SyncInterval"] = "0",
        ["Webhooks:PollInterval"] = "00:00:00.050",
        // Every body in SQLite's delivery log (by default only those from 64 KiB), rows committed without a sync: the
        // path a kill puts most at stake. After the restart the sink gets the bodies read back from the log.
        ["Webhooks:LogBodiesFrom"] = "0",
        ["Subscriptions:AllowLoopback"] = "true",
        ["Subscriptions:sink:Url"] = _sink.Url,
        ["Subscriptions:sink:Secret"] = SinkSecret,
        ["Subscriptions:sink:Concurrency"] = SinkConcurrency.ToString(CultureInfo.InvariantCulture),
    };

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = new SqliteCommand(sql, connection);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    [Fact]
    public async Task KilledDuringABurst_EveryAcknowledgedDeliveryIsProcessedOnceAndReachesEverySubscriptionAfterRestart_AndTheFileIsIntact()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var acknowledged = new ConcurrentBag<string>();
        var unanswered = 0;
        var server = await ServerProcess.StartAsync(Settings());
        var started = clock.Elapsed;
        await using (server)
        {
            using var client = server.CreateClient();
            var sent = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, token) =>
            {
                // A fifth of the way: what was stored before the kill is what the restart must take up (the built-in
                // subscription lags the burst by thousands), and the suite keeps its time.
                if (Interlocked.Increment(ref sent) == Count / 5)
                {
                    server.Kill(); // SIGKILL: no shutdown code runs
                }

                using var request = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.PushOfOneCommit(n + 1_000_000, 1), Secret, $"crash-{n}");
                try
                {
                    using var response = await client.SendAsync(request, token);
                    if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK)
                    {
                        acknowledged.Add($"crash-{n}");
                    }
                }
                catch (HttpRequestException)
                {
                    // Cut off by the kill, or (everything after it) refused at once: nothing listens any more.
                    Interlocked.Increment(ref unanswered);
                }
            });
        }

        var burst = clock.Elapsed;
        Assert.InRange(acknowledged.Count, Count / 20, Count * 9 / 10); // the kill really landed mid-burst
        Assert.Equal(Count, acknowledged.Count + unanswered);
        Assert.Equal(["ok"], Query("PRAGMA integrity_check", r => r.GetString(0)));
        var atKill = _sink.Arrivals.Values.Sum();
        var statesAtKill = string.Join(", ", Query("SELECT Subscription, State, count(*) FROM subscription_deliveries GROUP BY Subscription, State ORDER BY 1, 2",
            r => $"{r.GetString(0)} {r.GetString(1)} {r.GetInt64(2)}"));
        var sinkLeasedAtKill = Query("SELECT count(*) FROM subscription_deliveries WHERE Subscription = 'sink' AND State = 'Processing'", r => r.GetInt64(0))[0];

        // Restart on the same file, the sink still listening: what was in flight is taken up again at once, by the
        // built-in subscription and by the sink's.
        var restarted = await ServerProcess.StartAsync(Settings());
        var restartedAt = clock.Elapsed;
        await using (restarted)
        {
            for (var waited = System.Diagnostics.Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(120); await Task.Delay(200))
            {
                if (Unsettled("local", "'Processed', 'Ignored', 'Dead'") == 0 && Unsettled("sink", "'Processed'") == 0)
                {
                    break;
                }
            }

            Assert.False(restarted.HasExited, restarted.Output);
        }

        var settled = clock.Elapsed;
        var stored = Query("SELECT d.DeliveryId, coalesce(s.State, 'Pending') FROM webhook_deliveries d " +
                "LEFT JOIN subscription_deliveries s ON s.DeliverySeq = d.Id AND s.Subscription = 'local'", r => (Id: r.GetString(0), State: r.GetString(1)))
            .ToDictionary(r => r.Id, r => r.State);
        var missing = acknowledged.Where(id => !stored.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"acknowledged but not stored: {string.Join(", ", missing)}");
        Assert.All(stored, d => Assert.Equal("Processed", d.Value));

        // Nothing unacknowledged appears twice: a delivery that was being stored when the kill came (no answer, so a
        // sender would send it again) is in the inbox once or not at all, and every row there is a delivery that was sent.
        var (rows, distinct) = Query("SELECT count(*), count(DISTINCT DeliveryId) FROM webhook_deliveries", r => (r.GetInt64(0), r.GetInt64(1)))[0];
        Assert.Equal(distinct, rows);
        Assert.Equal(stored.Count, rows);
        Assert.All(stored.Keys, id => Assert.StartsWith("crash-", id, StringComparison.Ordinal));

        // Exactly once: one push row and one commit per stored delivery (each delivery carries its own commit).
        Assert.Equal(stored.Count, Query("SELECT count(*) FROM pushes", r => r.GetInt64(0))[0]);
        Assert.Equal(stored.Count, Query("SELECT count(*) FROM commits", r => r.GetInt64(0))[0]);

        // The sink's subscription: one row per stored delivery, each delivered (the sink answered 200).
        var sinkRows = Query("SELECT d.DeliveryId, s.State FROM subscription_deliveries s JOIN webhook_deliveries d ON d.Id = s.DeliverySeq " +
                "WHERE s.Subscription = 'sink'", r => (Id: r.GetString(0), State: r.GetString(1)))
            .ToDictionary(r => r.Id, r => r.State);
        Assert.Equal(stored.Count, sinkRows.Count);
        Assert.All(sinkRows, r => Assert.Equal("Processed", r.Value));

        // At least once at the sink: every stored delivery arrived there, and nothing arrived that is not stored.
        var arrivals = _sink.Arrivals.ToDictionary(a => a.Key, a => a.Value);
        var neverArrived = stored.Keys.Where(id => !arrivals.ContainsKey(id)).ToList();
        Assert.True(neverArrived.Count == 0, $"stored but never delivered to the sink: {string.Join(", ", neverArrived.Take(20))} ({neverArrived.Count})");
        var unknown = arrivals.Keys.Where(id => !stored.ContainsKey(id)).ToList();
        Assert.True(unknown.Count == 0, $"delivered to the sink but not stored: {string.Join(", ", unknown.Take(20))} ({unknown.Count})");

        // A repeat is a delivery the killed process had sent to the sink but whose outcome it had not yet recorded: its
        // row was still 'Processing' (claimed) in the file, and the restarted process, finding it leased to a dead one,
        // sends it again, as at-least-once allows. So repeats are at most the sink's rows claimed at the kill, and
        // those are at most Concurrency × 8, not Concurrency: the HTTP worker keeps eight rounds claimed and not yet
        // recorded (DeliveryWorker.Pump.Limit), so that attempts go on while earlier outcomes wait for their
        // transaction. Nothing arrives three times: the restarted process recorded every outcome before it was stopped.
        var repeats = arrivals.Count(a => a.Value > 1);
        Assert.InRange(sinkLeasedAtKill, 0, SinkConcurrency * 8);
        Assert.InRange(repeats, 0, sinkLeasedAtKill);
        Assert.All(arrivals, a => Assert.InRange(a.Value, 1, 2));
        Assert.Equal(["ok"], Query("PRAGMA integrity_check", r => r.GetString(0)));
        output.WriteLine($"sent {Count}, acknowledged {acknowledged.Count}, unanswered {unanswered}, stored {stored.Count}, " +
                         $"processed {stored.Count(d => d.Value == "Processed")}, lost 0");
        output.WriteLine($"sink: {atKill} arrivals before the kill, {arrivals.Values.Sum()} in all, {arrivals.Count} deliveries, " +
                         $"{repeats} arrived twice ({sinkLeasedAtKill} claimed at the kill), {_sink.CutOff} requests cut off mid-body by the kill");
        output.WriteLine($"at the kill (fanned out: rows per subscription and state): {statesAtKill}");
        output.WriteLine($"server start {started.TotalSeconds:0.0} s, burst and kill {(burst - started).TotalSeconds:0.0} s, " +
                         $"restart {(restartedAt - burst).TotalSeconds:0.0} s, then until settled {(settled - restartedAt).TotalSeconds:0.0} s");
    }

    /// <summary>Stored deliveries whose row for <paramref name="subscription"/> is missing or in none of <paramref name="done"/> (SQL literals).</summary>
    private long Unsettled(string subscription, string done) =>
        Query("SELECT count(*) FROM webhook_deliveries d LEFT JOIN subscription_deliveries s ON s.DeliverySeq = d.Id AND s.Subscription = " +
              $"'{subscription}' WHERE s.State IS NULL OR s.State NOT IN ({done})", r => r.GetInt64(0))[0];

    /// <summary>
    /// The HTTP subscription's receiver, on 127.0.0.1 in the test process, so that it outlives the server's kill and
    /// sees what the restarted server sends: answers 200 to every POST it reads to the end, and counts arrivals per
    /// <c>X-GitHub-Delivery</c>.
    /// </summary>
    private sealed class Sink : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _cutOff;

        private Sink(WebApplication app) => _app = app;

        /// <summary>Where the subscription points (known once the sink listens).</summary>
        public string Url { get; private set; } = "";

        /// <summary>Requests read to the end and answered 200, per delivery id.</summary>
        public ConcurrentDictionary<string, int> Arrivals { get; } = new(StringComparer.Ordinal);

        /// <summary>Requests whose body ended early: the sender was killed while it sent them (never answered, so not an arrival).</summary>
        public int CutOff => Volatile.Read(ref _cutOff);

        public static async Task<Sink> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var sink = new Sink(builder.Build());
            sink._app.MapPost("/sink", sink.ReceiveAsync);
            await sink._app.StartAsync();
            sink.Url = sink._app.Urls.Single().TrimEnd('/') + "/sink";
            return sink;
        }

        private async Task<IResult> ReceiveAsync(HttpRequest request)
        {
            try
            {
                await request.Body.CopyToAsync(Stream.Null);
            }
            catch (Exception e) when (e is BadHttpRequestException or IOException)
            {
                Interlocked.Increment(ref _cutOff);
                return Results.StatusCode(400);
            }

            Arrivals.AddOrUpdate(request.Headers["X-GitHub-Delivery"].ToString(), 1, (_, n) => n + 1);
            return Results.Ok();
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
