using System.Collections.Concurrent;
using System.Net;
using Hubgate.Testing;
using static Hubgate.Server.Tests.Subscriptions.FanOutWorld;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// The server process killed with SIGKILL while it fans deliveries out to HTTP subscriptions, on the run's database:
/// after a restart every acknowledged delivery reaches every subscription at least once, and a delivery sent twice
/// (attempted before the kill, its outcome not yet recorded) carries the same <c>webhook-id</c> both times, so the
/// receiver can drop the second.
/// </summary>
public sealed class FanOutCrashTests : IAsyncLifetime
{
    private const int Count = 240;
    private const string TruncatedByTheKill = "Microsoft.AspNetCore.Server.Kestrel.Core.BadHttpRequestException: Unexpected end of request content.";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-fanout-crash-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;
    private FanOutSink _sink = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _gitHub = await StartGitHubAsync();
        _sink = await FanOutSink.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _sink.DisposeAsync();
        await _gitHub.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TestDatabase.Delete(_directory);
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task KilledDuringFanOut_EveryAcknowledgedDeliveryReachesEverySubscriptionAfterRestart_DuplicatesCarryTheSameWebhookId()
    {
        var settings = Settings(_gitHub)
            .Subscribe("plain", _sink, QuickRetries(5))
            .Subscribe("ordered", _sink, [("Ordering", "Repository"), .. QuickRetries(5)]);
        foreach (var (key, value) in TestDatabase.Settings(_directory))
        {
            settings[key] = value;
        }

        settings["Webhooks:LeaseDuration"] = "00:00:03"; // on PostgreSQL, what the killed process held is taken over after this
        settings["Webhooks:HeartbeatInterval"] = "00:00:00.500";
        _sink.Slow("plain", TimeSpan.FromMilliseconds(5)); // attempts in flight when the kill comes
        _sink.Slow("ordered", TimeSpan.FromMilliseconds(10));
        var deliveries = Enumerable.Range(0, Count).Select(n => Push(Repos[n % Repos.Length], n)).ToList();
        var acknowledged = new ConcurrentBag<string>();

        var server = await ServerProcess.StartAsync(settings);
        int plainAtKill, orderedAtKill;
        await using (server)
        {
            using var client = server.CreateClient();
            var killed = 0;
            // Once each subscription has had some (fan-out and attempts under way, most still to come): SIGKILL,
            // whether the burst is still being sent or not.
            var kill = Task.Run(async () =>
            {
                await FanOutSink.WaitUntilAsync(() => _sink.Of("plain").Count >= Count / 5 && _sink.Of("ordered").Count >= Count / 10,
                    TimeSpan.FromSeconds(60), () => $"plain {_sink.Of("plain").Count}, ordered {_sink.Of("ordered").Count}\n{server.Output}");
                Volatile.Write(ref killed, 1);
                server.Kill();
            });
            await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (delivery, _) =>
            {
                if (Volatile.Read(ref killed) == 0 && await SendAsync(client, delivery) == HttpStatusCode.Accepted)
                {
                    acknowledged.Add(delivery.Id);
                }
            });
            await kill;
            plainAtKill = _sink.Of("plain").Select(r => r.GitHubDelivery).Distinct().Count();
            orderedAtKill = _sink.Of("ordered").Select(r => r.GitHubDelivery).Distinct().Count();
        }

        var before = _sink.Accepted.Count;
        Assert.InRange(acknowledged.Count, Count / 5, Count);
        Assert.True(orderedAtKill < acknowledged.Count || plainAtKill < acknowledged.Count,
            $"the kill came after everything was delivered (plain {plainAtKill}, ordered {orderedAtKill} of {acknowledged.Count})");
        await using var restarted = await ServerProcess.StartAsync(settings);

        foreach (var name in new[] { "plain", "ordered" })
        {
            await FanOutSink.WaitUntilAsync(() => acknowledged.All(id => _sink.Of(name).Any(r => r.GitHubDelivery == id)), TimeSpan.FromSeconds(90),
                () => $"{name} has {_sink.Of(name).Select(r => r.GitHubDelivery).Distinct().Count()} of {acknowledged.Count} acknowledged\n{restarted.Output}");
        }

        Assert.True(_sink.Accepted.Count > before, "the restarted server delivered what was left");
        // A POST the killed process was sending ends mid-body; the sink sees that as a bad request, which is the kill,
        // not a fault of the dispatch. Anything else the sink threw is.
        Assert.DoesNotContain(_sink.Errors, e => !e.StartsWith(TruncatedByTheKill, StringComparison.Ordinal));
        foreach (var received in _sink.Accepted.GroupBy(r => (r.Path, r.GitHubDelivery)))
        {
            Assert.All(received, r => Assert.Equal(received.Key.GitHubDelivery, r.WebhookId));
            Assert.All(received, r => Assert.Equal(deliveries.Single(d => d.Id == received.Key.GitHubDelivery).Body, r.Body));
        }

        Assert.False(restarted.HasExited, restarted.Output);
    }
}
