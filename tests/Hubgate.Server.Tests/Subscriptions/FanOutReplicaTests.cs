using System.Net;
using Hubgate.Testing;
using static Hubgate.Server.Tests.Subscriptions.FanOutWorld;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// Two server processes on one PostgreSQL database, deliveries sent to both alternately: an ordered subscription still
/// gets each repository's deliveries in order, and no delivery is ever in flight to a subscription from both replicas
/// at once (the sink is slow, so an overlap would show).
/// </summary>
[Trait("Database", "Postgres")]
public sealed class FanOutReplicaTests : IAsyncLifetime
{
    private const int PerRepository = 16;
    private readonly string _database = "hg_fanout_replicas_" + Guid.NewGuid().ToString("N")[..12];
    private FakeGitHubServer _gitHub = null!;
    private FanOutSink _sink = null!;
    private string _connectionString = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await StartGitHubAsync();
        _sink = await FanOutSink.StartAsync();
        _connectionString = ThrowawayPostgres.Shared.CreateDatabase(_database);
    }

    public async Task DisposeAsync()
    {
        await _sink.DisposeAsync();
        await _gitHub.DisposeAsync();
        ThrowawayPostgres.Shared.DropDatabase(_database);
    }

    [Fact]
    public async Task TwoReplicas_KeepOrderPerRepository_AndNeverHaveOneDeliveryInFlightToASubscriptionTwice()
    {
        var settings = Settings(_gitHub)
            .Subscribe("ordered", _sink, ("Ordering", "Repository"))
            .Subscribe("loose", _sink, ("Concurrency", "4"));
        settings["Database:Provider"] = "Postgres";
        settings["ConnectionStrings:Hubgate"] = _connectionString;
        settings["Logging:LogLevel:Hubgate.Webhooks.Subscriptions.DeliveryWorker"] = "Information"; // who delivered what
        _sink.Slow("ordered", TimeSpan.FromMilliseconds(30));
        _sink.Slow("loose", TimeSpan.FromMilliseconds(30));
        var a = await ServerProcess.StartAsync(settings);
        await using var _ = a;
        var b = await ServerProcess.StartAsync(settings);
        await using var __ = b;
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        // Each repository's pushes one after another (each acknowledged before the next: their order is defined),
        // alternately to either replica; the repositories side by side.
        var sent = Repos.ToDictionary(r => r, r => Enumerable.Range(0, PerRepository).Select(n => Push(r, n)).ToList());
        await Task.WhenAll(sent.Values.Select(async deliveries =>
        {
            for (var n = 0; n < deliveries.Count; n++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await SendAsync(n % 2 == 0 ? clientA : clientB, deliveries[n]));
            }
        }));

        var total = Repos.Length * PerRepository;
        foreach (var name in new[] { "ordered", "loose" })
        {
            await FanOutSink.WaitUntilAsync(() => _sink.Of(name).Count >= total, TimeSpan.FromSeconds(90),
                () => $"{name} has {_sink.Of(name).Count} of {total}\n{a.Output}\n{b.Output}");
        }

        Assert.Empty(_sink.Overlaps);
        Assert.Empty(_sink.Errors);
        foreach (var (repo, deliveries) in sent)
        {
            Assert.Equal(deliveries.Select(d => d.Id), _sink.Of("ordered").Where(r => r.Body.Length > 0 && deliveries.Any(d => d.Id == r.GitHubDelivery))
                .Select(r => r.GitHubDelivery));
        }

        foreach (var name in new[] { "ordered", "loose" })
        {
            Assert.Equal(total, _sink.Of(name).Select(r => r.GitHubDelivery).Distinct().Count());
            Assert.Equal(total, _sink.Of(name).Count); // none twice: nothing crashed, so no attempt was repeated
        }

        // Both replicas delivered: the claim, not the luck of which replica was asked, kept the order.
        int Delivered(ServerProcess server) => server.Output.Split('\n').Count(l => l.Contains("processed on attempt", StringComparison.Ordinal) && !l.Contains("[local]", StringComparison.Ordinal));
        Assert.True(Delivered(a) > 0 && Delivered(b) > 0, $"a delivered {Delivered(a)}, b {Delivered(b)}");
        Assert.False(a.HasExited || b.HasExited, a.Output + b.Output);
    }
}
