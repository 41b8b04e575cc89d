using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Server.Tests.Subscriptions.FanOutWorld;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// The server with HTTP subscriptions declared in configuration, delivering to Kestrel sinks on 127.0.0.1 that verify
/// both signatures (Octokit.Webhooks' receiver, the StandardWebhooks package): every delivery reaches every matching
/// subscription, destinations that are down, failing, hanging or gone hold up no other, and the built-in <c>local</c>
/// goes on processing.
/// </summary>
public sealed class FanOutDeliveryTests : IAsyncLifetime
{
    internal static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private FakeGitHubServer _gitHub = null!;
    private FanOutSink _sink = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await StartGitHubAsync();
        _sink = await FanOutSink.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _sink.DisposeAsync();
        await _gitHub.DisposeAsync();
    }

    internal static async Task<List<SubscriptionDeliveryEntity>> RowsAsync(HubgateApplication app, string? subscription = null)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.SubscriptionDeliveries.AsNoTracking().Where(r => subscription == null || r.Subscription == subscription).ToListAsync();
    }

    internal static string Describe(List<SubscriptionDeliveryEntity> rows) =>
        string.Join(", ", rows.GroupBy(r => (r.Subscription, r.State)).Select(g => $"{g.Key.Subscription}:{g.Key.State}={g.Count()}")) +
        " | " + string.Join(" | ", rows.Where(r => r.LastError != null).Select(r => r.LastError).Distinct().Take(3));

    /// <summary>Waits (bounded) until <paramref name="subscription"/> has <paramref name="count"/> rows, all in one of <paramref name="states"/>.</summary>
    internal static async Task<List<SubscriptionDeliveryEntity>> WaitRowsAsync(HubgateApplication app, string subscription, int count, params DeliveryState[] states)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var rows = await RowsAsync(app, subscription);
            if (rows.Count == count && rows.All(r => states.Contains(r.State)))
            {
                return rows;
            }

            if (clock.Elapsed > Bound)
            {
                Assert.Fail($"{subscription}: not {count} rows in {string.Join("/", states)} within {Bound.TotalSeconds} s: {Describe(rows)}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<Subscription> SubscriptionAsync(HubgateApplication app, string name) =>
        (await app.Services.GetRequiredService<SubscriptionCatalog>().RefreshAsync(CancellationToken.None)).Single(s => s.Name == name);

    private static async Task WaitStatusAsync(HubgateApplication app, string name, SubscriptionStatus status)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await SubscriptionAsync(app, name)).Status != status)
        {
            if (clock.Elapsed > Bound)
            {
                Assert.Fail($"{name} is not {status} within {Bound.TotalSeconds} s: {Describe(await RowsAsync(app, name))}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Asserts <paramref name="name"/> accepted each of <paramref name="expected"/> exactly once, byte for byte, with GitHub's headers.</summary>
    private void AssertReceivedOnce(string name, IReadOnlyList<Sent> expected, FanOutSink? sink = null)
    {
        var received = (sink ?? _sink).Of(name);
        Assert.Equal(expected.Select(s => s.Id).Order(), received.Select(r => r.GitHubDelivery).Order());
        foreach (var r in received)
        {
            var sent = expected.Single(s => s.Id == r.GitHubDelivery);
            Assert.Equal(sent.Body, r.Body);
            Assert.Equal(sent.Id, r.WebhookId);
            Assert.Equal(sent.Event, r.Headers["X-GitHub-Event"].ToString());
            Assert.False(string.IsNullOrEmpty(r.Headers["X-GitHub-Hook-ID"].ToString()), "X-GitHub-Hook-ID");
            Assert.False(string.IsNullOrEmpty(r.Headers["X-GitHub-Hook-Installation-Target-ID"].ToString()), "X-GitHub-Hook-Installation-Target-ID");
            Assert.Equal("integration", r.Headers["X-GitHub-Hook-Installation-Target-Type"].ToString());
            Assert.StartsWith("application/json", r.Headers["Content-Type"].ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>Asserts that, per repository, <paramref name="name"/> first accepted the deliveries in the order they were sent.</summary>
    private void AssertInOrderPerRepository(string name, IReadOnlyList<Sent> sent)
    {
        var received = _sink.Of(name);
        foreach (var repo in Repos)
        {
            var firsts = received.Select(r => r.GitHubDelivery).Where(id => sent.Any(s => s.Id == id && s.Repo == repo)).Distinct().ToList();
            Assert.Equal(sent.Where(s => s.Repo == repo).Select(s => s.Id), firsts);
        }
    }

    [Fact]
    public async Task SeveralSubscriptions_EachGetsEveryMatchingDeliveryOnce_BothSignaturesVerify_ByteForByte_AndLocalStillProcesses()
    {
        var settings = Settings(_gitHub)
            .Subscribe("everything", _sink, ("Ordering", "Repository"))
            .Subscribe("closed-prs", _sink, ("Events:0", "pull_request.closed"))
            .Subscribe("hello-pushes", _sink, ("Events:0", "push"), ("Repositories:0", "codertocat/hello-world"))
            .Subscribe("org", _sink, ("Installations:0", "2"));
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();
        var sent = Mix(4);

        await SendAllAsync(client, sent);

        var expected = new Dictionary<string, List<Sent>>
        {
            ["everything"] = sent,
            ["closed-prs"] = [.. sent.Where(s => s is { Event: "pull_request", Action: "closed" })],
            ["hello-pushes"] = [.. sent.Where(s => s.Event == "push" && s.Repo == Hello)],
            ["org"] = [.. sent.Where(s => s.Repo.Installation == 2)],
        };
        Assert.Equal((3, 4, 6), (expected["closed-prs"].Count, expected["hello-pushes"].Count, expected["org"].Count));
        foreach (var (name, deliveries) in expected)
        {
            var rows = await WaitRowsAsync(app, name, deliveries.Count, DeliveryState.Processed);
            Assert.All(rows, r => Assert.Equal(1, r.Attempts));
            AssertReceivedOnce(name, deliveries);
        }

        AssertInOrderPerRepository("everything", sent);
        Assert.Empty(_sink.Overlaps);
        await WaitRowsAsync(app, SubscriptionValidation.LocalName, sent.Count, DeliveryState.Processed, DeliveryState.Ignored);
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        Assert.Equal(sent.Count(s => s.Event == "push"), await db.Pushes.CountAsync());
        Assert.Equal(3, await db.PullRequests.CountAsync());
    }

    [Fact]
    public async Task ADestinationDownThenFailing_GetsEverythingWhenBack_InOrderPerRepository_WhileOthersReceiveMeanwhile()
    {
        await using var steady = await FanOutSink.StartAsync();
        var settings = Settings(_gitHub)
            .Subscribe("ordered", _sink, [("Ordering", "Repository"), .. QuickRetries(40)])
            .Subscribe("loose", _sink, QuickRetries(40))
            .Subscribe("steady", steady);
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();
        await _sink.StopAsync(); // connection refused
        var first = Mix(3);

        await SendAllAsync(client, first);

        // Meanwhile the other subscription has it all, and the two down ones are failing and being retried.
        await FanOutSink.WaitUntilAsync(() => steady.Of("steady").Count == first.Count, Bound, () => $"steady has {steady.Of("steady").Count}");
        await FanOutSink.WaitUntilAsync(() => RowsAsync(app).Result.Any(r => r is { Subscription: "ordered", Attempts: >= 2 } && r.LastError!.Contains("refused", StringComparison.OrdinalIgnoreCase)),
            Bound, () => Describe(RowsAsync(app).Result));

        await _sink.StartAgainAsync();
        _sink.Answer("ordered", 503);
        _sink.Answer("loose", 503);
        var second = Mix(3);
        await SendAllAsync(client, second);
        await FanOutSink.WaitUntilAsync(() => _sink.AttemptsOf("ordered") >= 3 && _sink.AttemptsOf("loose") >= 3, Bound,
            () => Describe(RowsAsync(app).Result));
        await FanOutSink.WaitUntilAsync(() => steady.Of("steady").Count == first.Count + second.Count, Bound, () => $"steady has {steady.Of("steady").Count}");
        Assert.Empty(_sink.Accepted);
        _sink.Accept("ordered");
        _sink.Accept("loose");

        List<Sent> all = [.. first, .. second];
        foreach (var name in new[] { "ordered", "loose" })
        {
            var rows = await WaitRowsAsync(app, name, all.Count, DeliveryState.Processed);
            Assert.Contains(rows, r => r.Attempts > 1);
            AssertReceivedOnce(name, all);
        }

        AssertReceivedOnce("steady", all, steady);
        AssertInOrderPerRepository("ordered", all);
        Assert.Empty(_sink.Overlaps);
    }

    [Fact]
    public async Task AHangingDestination_TimesOutAfterItsTimeout_AndHoldsUpNoOther()
    {
        _sink.Hang("hangs");
        var settings = Settings(_gitHub)
            .Subscribe("hangs", _sink, [("Timeout", "00:00:00.500"), .. QuickRetries(1, 100)])
            .Subscribe("steady", _sink);
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();
        var sent = Mix(2);

        await SendAllAsync(client, sent);

        await WaitRowsAsync(app, "steady", sent.Count, DeliveryState.Processed);
        AssertReceivedOnce("steady", sent);
        var rows = await WaitRowsAsync(app, "hangs", sent.Count, DeliveryState.Dead);
        Assert.All(rows, r => Assert.Equal(2, r.Attempts));
        Assert.All(rows, r => Assert.Contains("did not answer within the subscription's Timeout (00:00:00.5000000)", r.LastError, StringComparison.Ordinal));
        Assert.Equal(2 * sent.Count, _sink.AttemptsOf("hangs"));
        Assert.Empty(_sink.Of("hangs"));
    }

    [Fact]
    public async Task ADeliveryTheDestinationHangsOn_HoldsUpNoLaterOne_OfTheSameSubscription()
    {
        // The worker keeps Concurrency attempts in flight and records outcomes as they finish: one slow attempt takes one
        // slot, it does not hold back the deliveries received after it until it is done (as a batch at a time did).
        var stuck = Push(Hello, 1);
        _sink.HangOn("slow", stuck.Id);
        var settings = Settings(_gitHub).Subscribe("slow", _sink, ("Timeout", "00:00:45"), ("Concurrency", "4"));
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();

        await SendAllAsync(client, [stuck]);
        await FanOutSink.WaitUntilAsync(() => _sink.AttemptsOf("slow") == 1, Bound, () => "the first delivery never reached the sink");
        var later = Mix(4);
        await SendAllAsync(client, later);

        await FanOutSink.WaitUntilAsync(() => _sink.Of("slow").Count == later.Count, Bound,
            () => $"{_sink.Of("slow").Count} of {later.Count} later deliveries reached the sink while the first hung");
        AssertReceivedOnce("slow", later);
        var rows = await RowsAsync(app, "slow");
        var stuckSeq = rows.Min(r => r.DeliverySeq);
        Assert.Equal(DeliveryState.Processing, rows.Single(r => r.DeliverySeq == stuckSeq).State);
        // Their outcomes are recorded while the first still hangs (the sink saw them before their rows were written).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((rows = await RowsAsync(app, "slow")).Count(r => r.State == DeliveryState.Processed) < later.Count && clock.Elapsed < Bound)
        {
            await Task.Delay(50);
        }

        Assert.Equal(later.Count, rows.Count(r => r.State == DeliveryState.Processed));
        Assert.Equal(DeliveryState.Processing, rows.Single(r => r.DeliverySeq == stuckSeq).State);
    }

    [Fact]
    public async Task A410_DisablesTheSubscriptionWithTheReason_LaterDeliveriesAreKept_AndResumingDeliversAllOfThem()
    {
        _sink.Answer("gone", 410);
        var settings = Settings(_gitHub)
            .Subscribe("gone", _sink, QuickRetries(3, 100))
            .Subscribe("steady", _sink);
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();
        var first = Mix(1);

        await SendAllAsync(client, first);
        await WaitStatusAsync(app, "gone", SubscriptionStatus.Disabled);
        var disabled = await SubscriptionAsync(app, "gone");
        Assert.Contains("410 Gone", disabled.DisabledReason, StringComparison.Ordinal);
        var attemptsWhenDisabled = _sink.AttemptsOf("gone");
        Assert.InRange(attemptsWhenDisabled, 1, first.Count);

        var second = Mix(1);
        await SendAllAsync(client, second);
        List<Sent> all = [.. first, .. second];
        await WaitRowsAsync(app, "steady", all.Count, DeliveryState.Processed);
        var kept = await RowsAsync(app, "gone");
        Assert.Equal(all.Count, kept.Count); // owed to it: kept, not sent
        Assert.DoesNotContain(kept, r => r.State is DeliveryState.Processed or DeliveryState.Dead);
        await Task.Delay(500);
        Assert.Equal(attemptsWhenDisabled, _sink.AttemptsOf("gone"));

        _sink.Accept("gone");
        Assert.True(await app.Services.GetRequiredService<SubscriptionCatalog>().SetStatusAsync("gone", SubscriptionStatus.Active, null, CancellationToken.None));

        await WaitRowsAsync(app, "gone", all.Count, DeliveryState.Processed);
        AssertReceivedOnce("gone", all);
        Assert.Null((await SubscriptionAsync(app, "gone")).DisabledReason);
    }

    [Fact]
    public async Task ASubscriptionFailingForLongerThanDisableAfter_IsDisabledWithTheReason()
    {
        _sink.Answer("failing", 500);
        var settings = Settings(_gitHub)
            .Subscribe("failing", _sink, [("DisableAfter", "00:00:01"), .. QuickRetries(100, 100)]);
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();

        await SendAllAsync(client, [Push(Hello, 1)]);

        await WaitStatusAsync(app, "failing", SubscriptionStatus.Disabled);
        var disabled = await SubscriptionAsync(app, "failing");
        Assert.Contains("DisableAfter", disabled.DisabledReason, StringComparison.Ordinal);
        Assert.Contains("500", disabled.DisabledReason, StringComparison.Ordinal);
        var row = Assert.Single(await RowsAsync(app, "failing"));
        Assert.Equal(DeliveryState.Failed, row.State); // kept for when it is enabled again
        Assert.InRange(row.Attempts, 2, 100);
    }

    [Fact]
    public async Task ANameThatResolvesToLoopback_IsRefusedAtConnectTime_WithoutAllowLoopback()
    {
        var settings = Settings(_gitHub);
        settings["Subscriptions:AllowLoopback"] = "false";
        settings["Subscriptions:sidecar:Url"] = _sink.Url("sidecar").Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        settings["Subscriptions:sidecar:Secret"] = FanOutSink.Secret;
        settings["Subscriptions:sidecar:Retry:0"] = "00:00:00.100";
        using var app = new HubgateApplication(settings);
        using var client = app.CreateClient();

        await SendAllAsync(client, [Push(Hello, 1)]);

        var row = Assert.Single(await WaitRowsAsync(app, "sidecar", 1, DeliveryState.Dead));
        Assert.Contains("loopback", row.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Subscriptions:AllowLoopback", row.LastError, StringComparison.Ordinal);
        Assert.Equal(0, _sink.AttemptsOf("sidecar"));
    }
}
