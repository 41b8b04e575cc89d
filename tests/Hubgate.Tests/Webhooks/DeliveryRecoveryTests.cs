using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>Recovery against the fake GitHub's hook deliveries (App JWT, cursor pagination, redelivery).</summary>
public sealed class DeliveryRecoveryTests
{
    [Fact]
    public async Task AsksForExactlyTheFailedDeliveriesTheInboxLacks_WithinTheWindow()
    {
        await using var h = await GitHubAppHarness.StartAsync(s =>
        {
            foreach (var (key, value) in Settings())
            {
                s[key] = value;
            }
        });
        var now = h.Services.Time.GetUtcNow();
        var gh = h.GitHub;
        // Delivered fine.
        gh.AddHookDelivery("ok-1", "push", null, "OK", 200, now.AddMinutes(-5));
        // Failed, never stored here: must be requested.
        var lost = gh.AddHookDelivery("lost-1", "pull_request", "opened", "Invalid HTTP Response: 503", 503, now.AddHours(-2));
        // Failed twice (original + a failed redelivery): requested once, for the latest attempt.
        gh.AddHookDelivery("lost-2", "push", null, "failed to connect to host", 0, now.AddHours(-30));
        var lost2Latest = gh.AddHookDelivery("lost-2", "push", null, "Invalid HTTP Response: 500", 500, now.AddHours(-29));
        // Failed at first, delivered on a later attempt: nothing to do.
        gh.AddHookDelivery("healed", "push", null, "Invalid HTTP Response: 502", 502, now.AddHours(-3));
        gh.AddHookDelivery("healed", "push", null, "OK", 202, now.AddHours(-2.5));
        // GitHub saw a failure (timeout), but we had stored it: nothing to do.
        gh.AddHookDelivery("stored-here", "push", null, "timed out", 0, now.AddHours(-1));
        // Failed but older than the window.
        gh.AddHookDelivery("too-old", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-80));
        // Enough OK deliveries to force several pages (per_page=100).
        for (var i = 0; i < 230; i++)
        {
            gh.AddHookDelivery($"bulk-{i}", "push", null, "OK", 202, now.AddMinutes(-10 - i));
        }

        await StoreFixtureAsync(h.Services, "push", "payload.json", "stored-here");

        var report = await h.Services.Get<DeliveryRecovery>().RecoverAsync(TimeSpan.FromHours(72));

        Assert.Equal(new[] { lost.Id, lost2Latest.Id }.Order(), gh.RedeliveryRequests.Order());
        Assert.Equal(2, report.Accepted);
        Assert.Equal(3, report.Failed);           // lost-1, lost-2, stored-here
        Assert.Equal(1, report.AlreadyStored);    // stored-here
        Assert.Equal(1, report.DeliveredLater);   // healed
        Assert.Equal(1 + 1 + 2 + 2 + 1 + 230, report.Scanned); // ok-1, lost-1, lost-2 ×2, healed ×2, stored-here, bulk; not too-old
        Assert.Contains(report.Requested, r => r.DeliveryGuid == "lost-1" && r.Event == "pull_request" && r.Action == "opened" && r.Accepted);

        // Every call went out with the App JWT, page after page.
        var listing = gh.Requests.Where(r => r.Path.StartsWith("/app/hook/deliveries", StringComparison.Ordinal)).ToList();
        Assert.True(listing.Count >= 5, $"{listing.Count} requests");
        Assert.All(listing, r => Assert.Equal(Hubgate.Testing.FakeCredential.Jwt, r.Credential));
    }

    [Fact]
    public async Task DryRun_ReportsWithoutAsking()
    {
        await using var h = await GitHubAppHarness.StartAsync();
        var now = h.Services.Time.GetUtcNow();
        h.GitHub.AddHookDelivery("lost", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1));

        var report = await h.Services.Get<DeliveryRecovery>().RecoverAsync(TimeSpan.FromHours(72), dryRun: true);

        Assert.Single(report.Requested);
        Assert.False(report.Requested[0].Accepted);
        Assert.Empty(h.GitHub.RedeliveryRequests);
    }
}
