using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>The running service end to end: deliveries in, the worker running handlers, the management API and CLI.</summary>
public sealed partial class DeliveriesApiTests : IAsyncLifetime
{
    private const string ApiKey = "deliveries-api-key-7d1e";
    private const string Secret = "deliveries-secret";
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync() => _gitHub = await FakeGitHubServer.StartAsync();

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private Dictionary<string, string?> Settings() => new()
    {
        ["Hubgate:ApiKey"] = ApiKey,
        ["GitHub:WebhookSecret"] = Secret,
        ["GitHub:AppId"] = _gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem,
        ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
        ["Webhooks:PollInterval"] = "00:00:00.050",
        ["Webhooks:RetryDelay"] = "00:00:00.100",
        ["Webhooks:MaxRetryDelay"] = "00:00:00.200",
        ["Webhooks:MaxAttempts"] = "2",
    };

    private static HttpClient Client(HubgateApplication app)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    private static async Task<JsonElement> WaitForStateAsync(HttpClient client, string deliveryId, string state)
    {
        JsonElement delivery = default;
        for (var i = 0; i < 200; i++)
        {
            var response = await client.GetAsync(new Uri($"/api/deliveries/{deliveryId}", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                delivery = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("delivery");
                if (delivery.GetProperty("state").GetString() == state)
                {
                    return delivery;
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{deliveryId} never reached {state}: {delivery}");
        return default;
    }

    [Fact]
    public async Task DeliveryIn_WorkerRunsTheHandler_FailsToDead_ReplayedThenProcessed()
    {
        var fail = true;
        var handled = new List<string>();
        using var app = new HubgateApplication(Settings(), services => new WebhookBuilder(services).On("push", (ctx, _) =>
        {
            lock (handled)
            {
                handled.Add(ctx.DeliveryId);
            }

            return fail ? throw new InvalidOperationException("warehouse offline") : Task.CompletedTask;
        }));
        using var client = Client(app);

        using var delivery = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), Secret, "api-1");
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);

        var dead = await WaitForStateAsync(client, "api-1", "dead");
        Assert.Equal(2, dead.GetProperty("attempts").GetInt32());
        Assert.Contains("warehouse offline", dead.GetProperty("lastError").GetString(), StringComparison.Ordinal);

        var list = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/deliveries?state=dead", UriKind.Relative));
        Assert.Equal("api-1", list.GetProperty("deliveries")[0].GetProperty("deliveryId").GetString());
        var none = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/deliveries?state=processed", UriKind.Relative));
        Assert.Equal(0, none.GetProperty("deliveries").GetArrayLength());

        fail = false;
        var replay = await client.PostAsync(new Uri("/api/deliveries/api-1/replay", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await WaitForStateAsync(client, "api-1", "processed");
        Assert.Equal(3, handled.Count);

        var detail = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/deliveries/api-1", UriKind.Relative));
        Assert.Equal("refs/tags/simple-tag", detail.GetProperty("payload").GetProperty("ref").GetString());
        Assert.False(detail.GetProperty("headers").TryGetProperty("X-Hub-Signature-256", out _));
    }

    [Fact]
    public async Task Api_NeedsTheKey_AndAnswersClearly()
    {
        using var app = new HubgateApplication(Settings());
        using var anonymous = app.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/api/deliveries", UriKind.Relative))).StatusCode);

        using var client = Client(app);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync(new Uri("/api/deliveries/nope/replay", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/api/deliveries/nope", UriKind.Relative))).StatusCode);
        var bad = await client.GetAsync(new Uri("/api/deliveries?state=sleeping", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("dead", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var badSince = await client.PostAsync(new Uri("/api/deliveries/recover?since=forever", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.BadRequest, badSince.StatusCode);
    }

    [Fact]
    public async Task Recover_ViaApiAndCli_AsksGitHubForTheMissingOnes()
    {
        var now = DateTimeOffset.UtcNow;
        var lost = _gitHub.AddHookDelivery("lost-guid", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1));
        _gitHub.AddHookDelivery("fine-guid", "push", null, "OK", 202, now.AddHours(-1));
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);

        var api = await client.PostAsync(new Uri("/api/deliveries/recover?since=12h", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        var report = await api.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, report.GetProperty("accepted").GetInt32());
        Assert.Equal([lost.Id], _gitHub.RedeliveryRequests);

        // The CLI on the same database and configuration, once GitHub's redelivery (to nowhere here) has failed again.
        await _gitHub.RedeliveriesSentAsync();
        var failedAgain = _gitHub.HookDeliveryLog.Last(d => d.Guid == "lost-guid");
        Assert.True(failedAgain.Redelivery);
        var settings = Settings();
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.Build(settings).Parse(["deliveries", "recover", "--since", "12h"])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });

        Assert.True(exit == 0, error.ToString());
        Assert.Contains("lost-guid", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("1 redeliveries requested", output.ToString(), StringComparison.Ordinal);
        // Asked again for its latest attempt: GitHub's failed redelivery.
        Assert.Equal([lost.Id, failedAgain.Id], _gitHub.RedeliveryRequests);

        await _gitHub.RedeliveriesSentAsync();
        using var dry = new StringWriter();
        exit = await HubgateCommand.Build(settings).Parse(["deliveries", "recover", "--dry-run", "--json"])
            .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = dry, Error = error });
        Assert.Equal(0, exit);
        Assert.Equal("lost-guid", JsonDocument.Parse(dry.ToString()).RootElement.GetProperty("requested")[0].GetProperty("deliveryGuid").GetString());
        Assert.Equal(2, _gitHub.RedeliveryRequests.Count);
    }

    [Fact]
    public async Task Cli_ListAndReplay()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        // A push from a repository webhook (no installation): the model passes on it, so it is kept as ignored, with why.
        using var delivery = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), Secret, "cli-1");
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);
        await WaitForStateAsync(client, "cli-1", "ignored");

        var settings = Settings();
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var config = new System.CommandLine.InvocationConfiguration { Output = output, Error = error };
        Assert.Equal(0, await HubgateCommand.Build(settings).Parse(["deliveries", "list", "--state", "ignored"]).InvokeAsync(config));
        Assert.Contains("cli-1", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("names no installation", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await HubgateCommand.Build(settings).Parse(["deliveries", "replay", "cli-1"]).InvokeAsync(config));
        Assert.Equal(1, await HubgateCommand.Build(settings).Parse(["deliveries", "replay", "nope"]).InvokeAsync(config));
        Assert.Contains("No delivery nope", error.ToString(), StringComparison.Ordinal);
    }
}
