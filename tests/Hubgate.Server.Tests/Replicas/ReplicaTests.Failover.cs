using System.Diagnostics;
using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Replicas;

/// <summary>
/// Failover in seconds with the default lease settings, and delivery recovery on two replicas at once.
/// </summary>
public sealed partial class ReplicaTests
{
    [Fact]
    public async Task ReplicaKilledWithHandlersInFlight_TheSurvivorProcessesEveryAcknowledgedDeliveryWithinAMinute()
    {
        const int count = 40;
        // Every push names an installation Hubgate has not seen, so its handler asks GitHub about it — and GitHub is
        // slow to answer: deliveries are in flight in both replicas when one is killed.
        for (var i = 0; i < count; i++)
        {
            _gitHub.AddInstallation(1000 + i, $"owner-{i}", accountType: "User");
        }

        _gitHub.AddLatency("/app/installations/", TimeSpan.FromMilliseconds(300));
        var (a, b) = await StartTwoAsync(); // the default Webhooks:LeaseDuration and heartbeat
        await using var _ = a;
        await using var __ = b;
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(async n =>
        {
            using var request = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.PushOfOneCommit(n, 1000 + n), Secret, $"slow-{n}");
            using var response = await (n % 2 == 0 ? clientA : clientB).SendAsync(request);
            return response.StatusCode;
        }));
        Assert.All(answers, s => Assert.Equal(HttpStatusCode.Accepted, s));

        // Kill B while it holds deliveries whose handlers are running.
        var heldByB = $"""SELECT count(*) FROM subscription_deliveries WHERE "Subscription" = 'local' AND "State" = 'Processing' AND "LeaseOwner" LIKE '%:{b.Pid.ToString(CultureInfo.InvariantCulture)}:%'""";
        var wait = Stopwatch.StartNew();
        while (await QueryAsync<long>(heldByB) == 0 && wait.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        b.Kill();
        var killed = Stopwatch.StartNew();
        var inFlight = await QueryAsync<long>(heldByB);
        Assert.True(inFlight > 0, "B held nothing when it was killed");

        await WaitDrainedAsync(count, TimeSpan.FromSeconds(60));
        var failover = killed.Elapsed;

        Assert.Equal(count, await QueryAsync<long>("""SELECT count(*) FROM subscription_deliveries WHERE "Subscription" = 'local' AND "State" = 'Processed'"""));
        Assert.True(await QueryAsync<long>("""SELECT max("Attempts") FROM subscription_deliveries WHERE "Subscription" = 'local'""") <= 2);
        Assert.Equal(count, await QueryAsync<long>("SELECT count(*) FROM commits"));
        Assert.False(a.HasExited, a.Output);
        Console.WriteLine($"Failover: {inFlight} deliveries held by the killed replica; all {count} processed {failover.TotalSeconds:F1} s after the kill.");
    }

    [Fact]
    public async Task TwoReplicasRecoveringEverySecond_AskForEachGuidOnce_AndReportWhatHubgateRefusesAgain()
    {
        const int count = 20;
        _gitHub.AddLatency("/app/hook/deliveries", TimeSpan.FromMilliseconds(200)); // runs long enough to overlap
        var (a, b) = await StartTwoAsync(s => s["Webhooks:RecoverInterval"] = "00:00:01");
        await using var _ = a;
        await using var __ = b;
        using var webhooks = a.CreateClient();
        _gitHub.SendWebhooksTo(webhooks, "/webhooks/github", "the-secret-github-still-holds");

        // Only now that GitHub knows where to redeliver (the replicas' runs have already begun): deliveries refused at
        // the time for a secret Hubgate does not hold (GitHub's webhook secret was changed on one side only).
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            _gitHub.AddHookDelivery($"old-secret-{i}", "push", null, "Invalid HTTP Response: 401", 401, now.AddMinutes(-10 - i),
                WebhookFixtures.PushOfOneCommit(i, Installation));
        }

        // Every guid asked for once, then a dozen more runs between the two replicas.
        var wait = Stopwatch.StartNew();
        while (_gitHub.RedeliveryRequests.Count < count && wait.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(100);
        }

        await _gitHub.RedeliveriesSentAsync();
        var listed = _gitHub.Requests.Count(r => r.Path.StartsWith("/app/hook/deliveries", StringComparison.Ordinal));
        while (_gitHub.Requests.Count(r => r.Path.StartsWith("/app/hook/deliveries", StringComparison.Ordinal)) < listed + 12 && wait.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(100);
        }

        var asked = _gitHub.RedeliveryRequests.Select(id => _gitHub.HookDeliveryLog.Single(d => d.Id == id).Guid).ToList();
        Assert.True(count == asked.Count, "asked more than once: " + string.Join(", ", asked.GroupBy(g => g).Where(g => g.Count() > 1).Select(g => $"{g.Key} ×{g.Count()}")));
        Assert.Equal(count, asked.Distinct().Count());
        Assert.Equal(count, _gitHub.HookDeliveryLog.Count(d => d.Redelivery && d.StatusCode == 401));
        Assert.Equal(count, await QueryAsync<long>("""SELECT count(*) FROM recovery_requests WHERE "Outcome" = 'Refused' AND "StatusCode" = 401 AND "Requests" = 1"""));
        Assert.Contains("Hubgate refused it again with 401", a.Output + b.Output, StringComparison.Ordinal);
        Assert.Equal(0, await QueryAsync<long>("SELECT count(*) FROM webhook_deliveries"));
    }
}
