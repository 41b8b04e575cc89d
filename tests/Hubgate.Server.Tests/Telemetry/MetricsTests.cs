using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Telemetry;

/// <summary>
/// <c>GET /metrics</c> (Prometheus) after real traffic: deliveries by event and result, signature failures by reason,
/// ingest and processing durations, token mints and cache hits, GitHub calls by status, rate limit per installation —
/// and nothing secret in it.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private const string Secret = "metrics-webhook-secret";
    private const string ApiKey = "metrics-api-key-4e1b";
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddRepository(1, 100, "acme", "api");
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    [Fact]
    public async Task AfterTraffic_TheScrapeHasEveryFamily_WithLabels_AndNoSecrets()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:WebhookSecret"] = Secret,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["Webhooks:PollInterval"] = "00:00:00.050",
        });
        using var client = app.CreateClient();
        var ping = WebhookFixtures.Load("ping", "payload.json");
        using (var good = WebhookFixtures.Delivery("/webhooks/github", "ping", ping, Secret, "metrics-1"))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(good)).StatusCode);
        }

        using (var bad = WebhookFixtures.Delivery("/webhooks/github", "ping", ping, "not-the-secret", "metrics-2"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(bad)).StatusCode);
        }

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/proxy/installations/1/repos/acme/api", UriKind.Relative))).StatusCode);
        }

        client.DefaultRequestHeaders.Authorization = null;
        string[] expected =
        [
            "hubgate_webhook_deliveries_received_total{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",app=\"default\",event=\"ping\",result=\"stored\"}",
            "hubgate_webhook_signature_failures_total{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",reason=\"mismatch\"}",
            "hubgate_webhook_deliveries_finished_total{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",app=\"default\",event=\"ping\",state=\"processed\",subscription=\"local\"}",
            "hubgate_webhook_ingest_duration_seconds_bucket{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",app=\"default\",event=\"ping\",result=\"stored\",le=\"0.01\"}",
            "hubgate_webhook_processing_duration_seconds_count{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",app=\"default\",event=\"ping\",subscription=\"local\"}",
            "hubgate_token_mints_total{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",result=\"minted\"}",
            "hubgate_token_cache_hits_total{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\"}",
            "hubgate_github_rate_limit_remaining{otel_scope_name=\"Hubgate\",otel_scope_version=\"0.1.0.0\",app=\"default\",credential=\"installation\",installation=\"1\",resource=\"core\"}",
            "http_client_request_duration_seconds_count{",
            // Recorded when a request has finished on the server's side, which can be after its client has the
            // response: waited for with the rest (it was once missing from the first scrape in CI).
            "http_response_status_code=\"200\"",
        ];

        var text = "";
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(15); await Task.Delay(200))
        {
            using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            if (expected.All(e => text.Contains(e, StringComparison.Ordinal)))
            {
                break;
            }
        }

        Assert.All(expected, e => Assert.Contains(e, text, StringComparison.Ordinal));
        TestSecrets.AssertNoneIn([("/metrics", text)], []);
    }
}
