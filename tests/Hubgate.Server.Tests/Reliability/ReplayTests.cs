using System.Collections.Concurrent;
using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// Replays at the endpoint: the same delivery id again is answered 200 and processed once; the same bytes under a new
/// id (the delivery header is not covered by the signature, so anyone holding a captured delivery can do this) are
/// stored, processed and flagged as a possible replay of the first — within <c>Webhooks:ReplayWindow</c> only.
/// </summary>
public sealed class ReplayTests
{
    private const string Secret = "replay-webhook-secret";

    [Fact]
    public async Task SameId_ProcessedOnce_NewIdSameBytes_FlaggedWithinTheWindowOnly()
    {
        var handled = new ConcurrentQueue<string>();
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Webhooks:ReplayWindow"] = "00:00:05",
        }, services => new WebhookBuilder(services).On("push", (ctx, _) =>
        {
            handled.Enqueue(ctx.DeliveryId);
            return Task.CompletedTask;
        }));
        using var client = app.CreateClient();
        var body = WebhookFixtures.Load("push", "payload.json"); // no installation: the model passes on it, the handler here runs

        async Task<HttpStatusCode> SendAsync(string id)
        {
            using var request = WebhookFixtures.Delivery("/webhooks/github", "push", body, Secret, id);
            return (await client.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("original"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("original"));
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("copied-under-a-new-id"));
        await Task.Delay(TimeSpan.FromSeconds(5.5)); // past the replay window
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync("much-later-same-bytes"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("original"));

        var contexts = app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        Dictionary<string, (DeliveryState State, string? ReplayOf)> rows = [];
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(20); await Task.Delay(50))
        {
            await using var db = await contexts.CreateDbContextAsync();
            rows = await db.LocalDeliveries().ToDictionaryAsync(d => d.DeliveryId, d => (d.State, d.PossibleReplayOf));
            if (rows.Values.All(r => r.State == DeliveryState.Processed))
            {
                break;
            }
        }

        Assert.Equal(["copied-under-a-new-id", "much-later-same-bytes", "original"], rows.Keys.Order(StringComparer.Ordinal));
        Assert.All(rows.Values, r => Assert.Equal(DeliveryState.Processed, r.State));
        Assert.Null(rows["original"].ReplayOf);
        Assert.Equal("original", rows["copied-under-a-new-id"].ReplayOf);
        Assert.Null(rows["much-later-same-bytes"].ReplayOf);
        Assert.Equal(["copied-under-a-new-id", "much-later-same-bytes", "original"], handled.Order(StringComparer.Ordinal));
    }
}
