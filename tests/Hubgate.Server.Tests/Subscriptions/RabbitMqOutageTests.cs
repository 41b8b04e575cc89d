using System.Diagnostics;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Server.Tests.Subscriptions.FanOutDeliveryTests;
using static Hubgate.Server.Tests.Subscriptions.FanOutWorld;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// The broker stopped for 30 s in the middle of a burst, then started again (same node, ports and data): nothing the
/// RabbitMQ subscription counted as delivered is lost, what was not confirmed is published after the restart through
/// the retry schedule (a duplicate carries the same message_id), and meanwhile the HTTP subscription and the built-in
/// <c>local</c> go on. Long by nature (the outage is the point), so it runs in the SQLite pass only.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class RabbitMqOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);
    private FakeGitHubServer _gitHub = null!;
    private FanOutSink _sink = null!;
    private ThrowawayRabbitMq _broker = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await StartGitHubAsync();
        _sink = await FanOutSink.StartAsync();
        _broker = await ThrowawayRabbitMq.StartNewAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _sink.DisposeAsync();
        await _gitHub.DisposeAsync();
    }

    [Fact]
    public async Task BrokerStoppedDuringABurst_NothingConfirmedIsLost_DuplicatesKeepTheirMessageId_AndHttpAndLocalGoOnMeanwhile()
    {
        const string exchange = "outage";
        await using (var consumer = await RabbitMqConsumer.ConnectAsync(_broker))
        {
            await consumer.BindAsync(exchange, "outage.q", "#");
        }

        var settings = RabbitMqSubscriptionTests.Publish(Settings(_gitHub), "broker", _broker.Uri, exchange, QuickRetries(120, 500))
            .Subscribe("steady", _sink);
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();
        var before = Mix(10);
        var during = Mix(10);

        // The burst is being sent and published when the broker stops.
        var sending = SendAllAsync(client, before);
        await FanOutSink.WaitUntilAsync(() => RowsAsync(app, "broker").Result.Count(r => r.State == DeliveryState.Processed) >= 5, Bound,
            () => Describe(RowsAsync(app, "broker").Result));
        await _broker.StopAsync();
        var stopped = Stopwatch.StartNew();
        await sending;
        var confirmedBefore = (await RowsAsync(app, "broker")).Where(r => r.State == DeliveryState.Processed).Select(r => r.DeliverySeq).ToHashSet();
        await SendAllAsync(client, during);

        // While it is down: the HTTP subscription and local have everything; the broker's deliveries fail and wait.
        List<Sent> all = [.. before, .. during];
        await FanOutSink.WaitUntilAsync(() => _sink.Of("steady").Count == all.Count, Bound, () => $"steady has {_sink.Of("steady").Count} of {all.Count}");
        await WaitRowsAsync(app, SubscriptionValidation.LocalName, all.Count, DeliveryState.Processed, DeliveryState.Ignored);
        var whileDown = await RowsAsync(app, "broker");
        Assert.Contains(whileDown, r => r.State == DeliveryState.Failed && r.LastError!.Contains("broker", StringComparison.Ordinal));
        Assert.True(stopped.Elapsed < Outage, $"HTTP and local took {stopped.Elapsed} with the broker down");
        await Task.Delay(Outage - stopped.Elapsed);

        await _broker.StartAsync();

        var rows = await WaitRowsAsync(app, "broker", all.Count, DeliveryState.Processed);
        Assert.Contains(rows, r => r.Attempts > 1);
        Assert.True(confirmedBefore.Count >= 5);
        Dictionary<string, WebhookDeliveryEntity> stored;
        await using (var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync())
        {
            stored = await db.WebhookDeliveries.AsNoTracking().ToDictionaryAsync(d => d.DeliveryId);
        }

        await using var reader = await RabbitMqConsumer.ConnectAsync(_broker);
        var messages = await reader.DrainAsync("outage.q");
        // Every delivery is on the queue (those confirmed before the stop survived it: persistent, durable queue) ...
        Assert.Equal(all.Select(s => s.Id).Order(), messages.Select(m => m.Properties.MessageId).Distinct().Order());
        // ... and a duplicate (published, not confirmed before the stop, published again) is the same message.
        foreach (var message in messages)
        {
            var sent = all.Single(s => s.Id == message.Properties.MessageId);
            RabbitMqSubscriptionTests.AssertIsMessageOf(message, sent, stored[sent.Id]);
        }

        Assert.All(confirmedBefore, seq => Assert.Contains(messages, m => m.NumberHeader("x-hubgate-sequence") == seq));
    }
}
