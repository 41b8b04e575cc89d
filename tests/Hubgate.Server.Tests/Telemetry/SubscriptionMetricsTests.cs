using System.Net;
using System.Text.RegularExpressions;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Telemetry;

/// <summary>
/// The subscriptions' gauges in <c>GET /metrics</c>: the backlog of a paused subscription grows with the deliveries it
/// is owed, the built-in one's drops to 0 once it has processed them, and the status gauge is 1 for each one's current
/// status (a disabled one's <c>status="disabled"</c> series is 1, its others 0).
/// </summary>
public sealed class SubscriptionMetricsTests
{
    private const string Secret = "subscription-metrics-webhook-secret";
    private const int Deliveries = 2;

    [Fact]
    public async Task TheScrape_HasEachSubscriptionsBacklog_AndItsStatus()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Subscriptions:AllowLoopback"] = "true",
            ["Subscriptions:metrics-paused:Url"] = "http://127.0.0.1:9/hooks",
            ["Subscriptions:metrics-paused:Secret"] = "metrics-paused-secret-3f1a9c",
            ["Subscriptions:metrics-paused:Paused"] = "true",
            ["Subscriptions:metrics-cut:Url"] = "http://127.0.0.1:9/cut",
            ["Subscriptions:metrics-cut:Secret"] = "metrics-cut-secret-77b0e2d4",
            ["Subscriptions:metrics-cut:Paused"] = "true",
        });
        using var client = app.CreateClient();
        var ping = WebhookFixtures.Load("ping", "payload.json");
        for (var i = 0; i < Deliveries; i++)
        {
            using var delivery = WebhookFixtures.Delivery("/webhooks/github", "ping", ping, Secret, $"metrics-sub-{i}");
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);
        }

        await app.Services.GetRequiredService<SubscriptionCatalog>()
            .SetStatusAsync("metrics-cut", SubscriptionStatus.Disabled, "The destination answered 410 Gone.", default);

        // Prometheus orders labels by name: otel scope, then status, subscription.
        var expected = new Dictionary<string, string>
        {
            ["hubgate_subscription_backlog{[^}]*subscription=\"metrics-paused\"}"] = "2",
            ["hubgate_subscription_backlog{[^}]*subscription=\"local\"}"] = "0",
            ["hubgate_subscription_status{[^}]*status=\"paused\",subscription=\"metrics-paused\"}"] = "1",
            ["hubgate_subscription_status{[^}]*status=\"active\",subscription=\"metrics-paused\"}"] = "0",
            ["hubgate_subscription_status{[^}]*status=\"disabled\",subscription=\"metrics-cut\"}"] = "1",
            ["hubgate_subscription_status{[^}]*status=\"paused\",subscription=\"metrics-cut\"}"] = "0",
        };
        var found = new Dictionary<string, string?>();
        var text = "";
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(250))
        {
            text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            found = expected.Keys.ToDictionary(k => k, k => Regex.Match(text, "^" + k + " ([0-9.]+)", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value : null);
            if (expected.All(e => found[e.Key] == e.Value))
            {
                break;
            }
        }

        Assert.Equal(expected, found!);
        Assert.Matches("# TYPE hubgate_subscription_backlog gauge", text);
        TestSecrets.AssertNoneIn([("/metrics", text)], []);
    }
}
