using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// GitHub's Redeliver (the button, or <c>POST /app/hook/deliveries/{id}/attempts</c>) sends the same
/// <c>X-GitHub-Delivery</c> again: a delivery that failed or died here is queued again; anything else stays a duplicate.
/// </summary>
public sealed class RedeliveryTests
{
    private const string Secret = "redelivery-secret";
    private const string ApiKey = "redelivery-api-key-51c0";
    private const string Path = "/webhooks/github";
    private static readonly byte[] Push = WebhookFixtures.Load("push", "payload.json");

    private static Dictionary<string, string?> Settings(bool worker) => new()
    {
        ["Hubgate:ApiKey"] = ApiKey,
        ["GitHub:WebhookSecret"] = Secret,
        ["Webhooks:RunWorker"] = worker ? "true" : "false",
        ["Webhooks:PollInterval"] = "00:00:00.050",
        ["Webhooks:RetryDelay"] = "00:00:00.100",
        ["Webhooks:MaxRetryDelay"] = "00:00:00.200",
        ["Webhooks:MaxAttempts"] = "2",
    };

    private static async Task<HttpResponseMessage> RedeliverAsync(HttpClient client, string id)
    {
        using var request = WebhookFixtures.Delivery(Path, "push", Push, Secret, id);
        return await client.SendAsync(request);
    }

    private static async Task<string> StatusOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString()!;

    private static async Task<LocalDelivery> RowAsync(HubgateApplication app, string id)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.LocalDeliveries().SingleAsync(d => d.DeliveryId == id);
    }

    private static async Task SetStateAsync(HubgateApplication app, string id, DeliveryState state, int attempts)
    {
        await app.Services.GetRequiredService<FanOut>().RunAsync(CancellationToken.None);
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        await db.LocalRowsOf(id).ExecuteUpdateAsync(s => s
            .SetProperty(d => d.State, state)
            .SetProperty(d => d.Attempts, attempts)
            .SetProperty(d => d.NextAttemptAt, DateTimeOffset.UtcNow.AddDays(1))
            .SetProperty(d => d.ProcessedAt, DateTimeOffset.UtcNow));
    }

    private static async Task WaitForStateAsync(HubgateApplication app, string id, DeliveryState state)
    {
        for (var i = 0; i < 300; i++)
        {
            if ((await RowAsync(app, id)).State == state)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{id} never reached {state}: {(await RowAsync(app, id)).State}");
    }

    [Fact]
    public async Task DeadDelivery_GitHubRedeliversIt_202Requeued_ProcessedWithAFreshRetryBudget_ThenADuplicateAgain()
    {
        var fail = true;
        var runs = 0;
        using var app = new HubgateApplication(Settings(worker: true), services => new WebhookBuilder(services).On("push", (_, _) =>
        {
            Interlocked.Increment(ref runs);
            return fail ? throw new InvalidOperationException("warehouse offline") : Task.CompletedTask;
        }));
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await RedeliverAsync(client, "redeliver-1")).StatusCode);
        await WaitForStateAsync(app, "redeliver-1", DeliveryState.Dead);
        Assert.Equal(2, runs);

        fail = false;
        var redelivered = await RedeliverAsync(client, "redeliver-1");

        Assert.Equal(HttpStatusCode.Accepted, redelivered.StatusCode);
        Assert.Equal("requeued", await StatusOf(redelivered));
        await WaitForStateAsync(app, "redeliver-1", DeliveryState.Processed);
        Assert.Equal(3, runs);
        var row = await RowAsync(app, "redeliver-1");
        Assert.Equal(3, row.Attempts);
        Assert.Equal(2, row.AttemptsAtReplay);

        var again = await RedeliverAsync(client, "redeliver-1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("duplicate", await StatusOf(again));
        await Task.Delay(300); // poll intervals of 50 ms: a wrongly requeued delivery would have run by now
        Assert.Equal(3, runs);
    }

    [Theory]
    [InlineData(DeliveryState.Failed, HttpStatusCode.Accepted)]
    [InlineData(DeliveryState.Dead, HttpStatusCode.Accepted)]
    [InlineData(DeliveryState.Pending, HttpStatusCode.OK)]
    [InlineData(DeliveryState.Processing, HttpStatusCode.OK)]
    [InlineData(DeliveryState.Processed, HttpStatusCode.OK)]
    [InlineData(DeliveryState.Ignored, HttpStatusCode.OK)]
    // DeliveryState is internal and a test method is public: xunit hands the enum over boxed.
    public async Task Redelivery_RequeuesOnlyFailedAndDead(object deliveryState, HttpStatusCode expected)
    {
        var state = (DeliveryState)deliveryState;
        using var app = new HubgateApplication(Settings(worker: false));
        using var client = app.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await RedeliverAsync(client, "state-1")).StatusCode);
        await SetStateAsync(app, "state-1", state, attempts: 5);

        var response = await RedeliverAsync(client, "state-1");

        Assert.Equal(expected, response.StatusCode);
        var row = await RowAsync(app, "state-1");
        if (expected == HttpStatusCode.Accepted)
        {
            Assert.Equal("requeued", await StatusOf(response));
            Assert.Equal(DeliveryState.Pending, row.State);
            Assert.Equal(5, row.AttemptsAtReplay); // a full set of retries from here; the count of runs goes on
            Assert.True(row.NextAttemptAt <= DateTimeOffset.UtcNow, $"due now, not {row.NextAttemptAt:O}");
            Assert.Null(row.ProcessedAt);
        }
        else
        {
            Assert.Equal("duplicate", await StatusOf(response));
            Assert.Equal(state, row.State);
            Assert.Equal(0, row.AttemptsAtReplay);
        }
    }

    [Fact]
    public async Task ManyRedeliveriesAtOnce_AcrossTwoReplicasOnOneDatabase_ExactlyOneRequeues()
    {
        using var first = new HubgateApplication(Settings(worker: false));
        var shared = Settings(worker: false);
        foreach (var (key, value) in first.DatabaseSettings)
        {
            shared[key] = value;
        }

        using var second = new HubgateApplication(shared);
        using var a = first.CreateClient();
        using var b = second.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await RedeliverAsync(a, "race-1")).StatusCode);
        await SetStateAsync(first, "race-1", DeliveryState.Dead, attempts: 2);

        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => RedeliverAsync(i % 2 == 0 ? a : b, "race-1")));

        Assert.Equal(1, answers.Count(r => r.StatusCode == HttpStatusCode.Accepted));
        Assert.Equal(23, answers.Count(r => r.StatusCode == HttpStatusCode.OK));
        var row = await RowAsync(second, "race-1");
        Assert.Equal(DeliveryState.Pending, row.State);
        Assert.Equal(2, row.AttemptsAtReplay);
    }

    [Fact]
    public async Task DashboardReplay_StillQueuesAnyStateButProcessing()
    {
        using var app = new HubgateApplication(Settings(worker: false));
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        Assert.Equal(HttpStatusCode.Accepted, (await RedeliverAsync(client, "replay-1")).StatusCode);
        await SetStateAsync(app, "replay-1", DeliveryState.Processed, attempts: 1);

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(new Uri("/api/deliveries/replay-1/replay", UriKind.Relative), null)).StatusCode);
        var row = await RowAsync(app, "replay-1");
        Assert.Equal(DeliveryState.Pending, row.State);
        Assert.Equal(1, row.AttemptsAtReplay);

        await SetStateAsync(app, "replay-1", DeliveryState.Processing, attempts: 1);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync(new Uri("/api/deliveries/replay-1/replay", UriKind.Relative), null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync(new Uri("/api/deliveries/nope/replay", UriKind.Relative), null)).StatusCode);
    }
}
