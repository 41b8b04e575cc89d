using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// <c>deliveries recover</c> and <c>POST /api/deliveries/recover</c> against a fake GitHub that redelivers for real
/// (signed, same guid) and logs each redelivery as a new attempt: runs that end, remember what they asked, report
/// what Hubgate refuses on purpose, and take one lease.
/// </summary>
public sealed partial class DeliveriesApiTests
{
    private static async Task<JsonElement> RecoverViaApiAsync(HttpClient client, string query = "since=12h")
    {
        using var response = await client.PostAsync(new Uri("/api/deliveries/recover?" + query, UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<(int Exit, string Output)> RecoverViaCliAsync(HubgateApplication app, Dictionary<string, string?> settings, params string[] args)
    {
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.Build(settings).Parse(["deliveries", "recover", .. args])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
        return (exit, output + error.ToString());
    }

    private int RequestsFor(FakeHookDelivery delivery) =>
        _gitHub.RedeliveryRequests.Count(id => _gitHub.HookDeliveryLog.Any(d => d.Id == id && d.Guid == delivery.Guid));

    [Theory]
    [InlineData("a body that is not JSON", false, 400)]
    [InlineData("signed with the secret GitHub holds, not the one Hubgate holds", true, 401)]
    public async Task DeliveryRefusedOnPurpose_IsAskedForOnceMore_ThenReportedAndNeverAskedAgain(string why, bool staleSecret, int status)
    {
        Assert.NotEmpty(why);
        var now = DateTimeOffset.UtcNow;
        var refusedBody = staleSecret ? WebhookFixtures.PushOfOneCommit(7, 1) : Encoding.UTF8.GetBytes("{ this is not json");
        var refused = _gitHub.AddHookDelivery("refused-guid", "push", null, $"Invalid HTTP Response: {status}", status, now.AddHours(-2), refusedBody);
        // A delivery lost to an outage, redelivered fine (with the right secret only: GitHub signs every delivery alike).
        var lost = staleSecret ? null
            : _gitHub.AddHookDelivery("lost-guid", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1), WebhookFixtures.PushOfOneCommit(8, 1));
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        _gitHub.SendWebhooksTo(app.CreateClient(), "/webhooks/github", staleSecret ? "the-old-secret" : Secret);

        // Run 1: asked for; GitHub sends it again, and Hubgate refuses it again.
        var first = await RecoverViaApiAsync(client);
        Assert.Equal(staleSecret ? 1 : 2, first.GetProperty("accepted").GetInt32());
        await _gitHub.RedeliveriesSentAsync();
        Assert.Contains(_gitHub.HookDeliveryLog, d => d.Guid == "refused-guid" && d.Redelivery && d.StatusCode == status);

        // Run 2 (the API): reported with Hubgate's status and logged, not asked for again.
        var second = await RecoverViaApiAsync(client);
        var reported = Assert.Single(second.GetProperty("refused").EnumerateArray());
        Assert.Equal("refused-guid", reported.GetProperty("deliveryGuid").GetString());
        Assert.Equal(status, reported.GetProperty("statusCode").GetInt32());
        Assert.Equal(1, reported.GetProperty("requests").GetInt32());
        Assert.Equal(0, second.GetProperty("requested").GetArrayLength());
        Assert.Contains("refused-guid (push) and Hubgate refused it again with " + status, app.AllLogText(), StringComparison.Ordinal);

        // Run 3 (the CLI): the same report, still no request.
        var (exit, output) = await RecoverViaCliAsync(app, Settings(), "--since", "12h");
        Assert.True(exit == 0, output);
        Assert.Contains($"refused-guid  push  refused again by Hubgate with {status}", output, StringComparison.Ordinal);
        Assert.Contains("0 redeliveries requested", output, StringComparison.Ordinal);

        Assert.Equal(1, RequestsFor(refused));
        if (lost is not null)
        {
            // The lost one was redelivered fine (signed, same guid), so the inbox holds it and it is never asked again.
            Assert.Equal(1, RequestsFor(lost));
            Assert.Equal(1, second.GetProperty("deliveredLater").GetInt32());
            using var stored = await client.GetAsync(new Uri("/api/deliveries/lost-guid", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        }
    }

    [Fact]
    public async Task EventFilter_FromTheCommandLineAndFromConfiguration_AsksOnlyForThoseEvents()
    {
        var now = DateTimeOffset.UtcNow;
        var push = _gitHub.AddHookDelivery("push-guid", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1));
        var pullRequest = _gitHub.AddHookDelivery("pr-guid", "pull_request", "opened", "Invalid HTTP Response: 503", 503, now.AddHours(-1));
        var issues = _gitHub.AddHookDelivery("issues-guid", "issues", "opened", "Invalid HTTP Response: 503", 503, now.AddHours(-1));
        using var app = new HubgateApplication(Settings());

        var (exit, output) = await RecoverViaCliAsync(app, Settings(), "--since", "12h", "--event", "push,pull_request");
        Assert.True(exit == 0, output);
        Assert.Equal(new[] { push.Id, pullRequest.Id }.Order(), _gitHub.RedeliveryRequests.Order());
        Assert.Contains("1 of other events than push,pull_request left alone", output, StringComparison.Ordinal);

        // Webhooks:RecoverEvents when the call names none.
        var settings = Settings();
        settings["Webhooks:RecoverEvents:0"] = "issues";
        using var filtered = new HubgateApplication(settings);
        using var client = Client(filtered);
        var report = await RecoverViaApiAsync(client);
        Assert.Equal("issues-guid", Assert.Single(report.GetProperty("requested").EnumerateArray()).GetProperty("deliveryGuid").GetString());
        Assert.Equal(2, report.GetProperty("filtered").GetInt32());
        Assert.Equal(3, _gitHub.RedeliveryRequests.Count);
        Assert.Contains(issues.Id, _gitHub.RedeliveryRequests);
    }

    [Fact]
    public async Task TwoConcurrentRuns_AskForEachGuidOnce()
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < 40; i++)
        {
            _gitHub.AddHookDelivery($"lost-{i}", "push", null, "Invalid HTTP Response: 502", 502, now.AddMinutes(-5 - i));
        }

        // A slow delivery log (its listing; the redelivery requests answer at once), so the two runs overlap.
        _gitHub.AddLatency("/app/hook/deliveries", TimeSpan.FromMilliseconds(1500), exact: true);
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);

        var reports = await Task.WhenAll(RecoverViaApiAsync(client), RecoverViaApiAsync(client));

        Assert.Equal(40, _gitHub.RedeliveryRequests.Count);
        Assert.Equal(40, _gitHub.RedeliveryRequests.Distinct().Count());
        Assert.Single(reports, r => r.GetProperty("skipped").ValueKind == JsonValueKind.String);
        Assert.Single(reports, r => r.GetProperty("accepted").GetInt32() == 40);
    }
}
