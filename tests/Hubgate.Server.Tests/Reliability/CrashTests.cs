using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.TestSupport;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// The server process killed with SIGKILL in the middle of a burst of deliveries, on its default SQLite database:
/// after a restart every delivery it had acknowledged is stored and processed exactly once, and the database file is
/// intact. (The same on PostgreSQL with a second replica taking over: Replicas/ReplicaTests.)
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class CrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "crash-webhook-secret";
    private const int Count = 1000;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
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
    public async Task KilledDuringABurst_EveryAcknowledgedDeliveryIsProcessedOnceAfterRestart_AndTheFileIsIntact()
    {
        var acknowledged = new ConcurrentBag<string>();
        var unanswered = 0;
        var server = await ServerProcess.StartAsync(Settings());
        await using (server)
        {
            using var client = server.CreateClient();
            var sent = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (n, token) =>
            {
                if (Interlocked.Increment(ref sent) == Count * 2 / 5)
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
                    Interlocked.Increment(ref unanswered);
                }
            });
        }

        Assert.InRange(acknowledged.Count, 100, Count - 100); // the kill really landed mid-burst
        Assert.Equal(Count, acknowledged.Count + unanswered);
        Assert.Equal(["ok"], Query("PRAGMA integrity_check", r => r.GetString(0)));

        // Restart on the same file: what was in flight is taken up again at once.
        var restarted = await ServerProcess.StartAsync(Settings());
        await using (restarted)
        {
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(90); await Task.Delay(200))
            {
                if (Query("SELECT count(*) FROM webhook_deliveries d LEFT JOIN subscription_deliveries s ON s.DeliverySeq = d.Id AND s.Subscription = 'local' " +
                          "WHERE s.State IS NULL OR s.State NOT IN ('Processed', 'Ignored', 'Dead')", r => r.GetInt64(0))[0] == 0)
                {
                    break;
                }
            }
        }

        var stored = Query("SELECT d.DeliveryId, coalesce(s.State, 'Pending') FROM webhook_deliveries d " +
                "LEFT JOIN subscription_deliveries s ON s.DeliverySeq = d.Id AND s.Subscription = 'local'", r => (Id: r.GetString(0), State: r.GetString(1)))
            .ToDictionary(r => r.Id, r => r.State);
        var missing = acknowledged.Where(id => !stored.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"acknowledged but not stored: {string.Join(", ", missing)}");
        Assert.All(stored, d => Assert.Equal("Processed", d.Value));

        // Exactly once: one push row and one commit per stored delivery (each delivery carries its own commit).
        Assert.Equal(stored.Count, Query("SELECT count(*) FROM pushes", r => r.GetInt64(0))[0]);
        Assert.Equal(stored.Count, Query("SELECT count(*) FROM commits", r => r.GetInt64(0))[0]);
        Assert.Equal(["ok"], Query("PRAGMA integrity_check", r => r.GetString(0)));
        output.WriteLine($"sent {Count}, acknowledged {acknowledged.Count}, unanswered {unanswered}, stored {stored.Count}, " +
                         $"processed {stored.Count(d => d.Value == "Processed")}, lost 0");
    }
}
