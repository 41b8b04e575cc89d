using System.CommandLine;
using Hubgate.Server.Cli;
using Hubgate.Storage;
using Hubgate.Tests.Webhooks.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// <c>hubgate listen --forward</c> against the real server: each delivery of the stream reaches a local receiver
/// (Octokit.Webhooks' own, which checks <c>X-Hub-Signature-256</c> against its secret) byte for byte, and is
/// acknowledged once the receiver took it.
/// </summary>
public sealed class ListenCommandTests
{
    private const string ReceiverSecret = "my-local-secret"; // what a developer's receiver has: any length

    [Fact]
    public async Task ListenForward_DeliversEachDeliveryToALocalOctokitReceiver_SignedWithItsSecret_AndAcknowledgesIt()
    {
        using var host = new StreamHost();
        await using var sink = await SubscriptionSink.StartAsync(ReceiverSecret, SubscriptionKey.Generate().StandardForm);
        var push = WebhookFixtures.Load("push", "payload.json");
        var ids = new List<string> { await host.SendAsync("push", push), await host.SendAsync("push", push) };
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var listening = HubgateCommand.RunAsync(
            ["listen", "--subscription", "dev", "--from", host.BaseAddress.ToString(), "--key", StreamHost.ListenerKey,
             "--forward", new Uri(sink.BaseUrl, "/octokit").ToString(), "--secret", ReceiverSecret],
            configuration: new InvocationConfiguration { Output = output, Error = error }, cancellationToken: stop.Token);
        await WaitForAsync(() => sink.OctokitPushes.Count >= 2, listening, error);
        ids.Add(await host.SendAsync("push", push)); // while it listens
        await WaitForAsync(() => sink.OctokitPushes.Count >= 3, listening, error);
        for (var i = 0; i < 200 && (await host.RowsAsync()).Any(r => r.State != DeliveryState.Processed); i++)
        {
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        var exit = await listening;

        Assert.Equal(0, exit);
        Assert.Equal(ids, sink.OctokitPushes.Select(p => p.DeliveryId));
        Assert.All(sink.Octokit, r => Assert.Equal(push, r.Body));
        Assert.All(await host.RowsAsync(), r => Assert.Equal(DeliveryState.Processed, r.State));
        Assert.Equal(3, output.ToString().Split('\n').Count(l => l.Contains("push", StringComparison.Ordinal) && l.Contains("→ 200", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Listen_WithAClientKeyNotAllowedToReadTheStream_StopsWithTheRefusal()
    {
        using var host = new StreamHost();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await HubgateCommand.RunAsync(["listen", "--subscription", "dev", "--from", host.BaseAddress.ToString(), "--key", StreamHost.OtherKey],
            configuration: new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(2, exit);
        Assert.Contains("403", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Hubgate:Clients:other:Streams", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listen_ToAPausedSubscription_WaitsSayingSo_ThenForwardsWhatWasKeptOnceItIsResumed()
    {
        using var host = new StreamHost();
        await using var sink = await SubscriptionSink.StartAsync(ReceiverSecret, SubscriptionKey.Generate().StandardForm);
        var push = WebhookFixtures.Load("push", "payload.json");
        var kept = await host.SendAsync("push", push); // handed to the paused stream "held", kept for it
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var listening = HubgateCommand.RunAsync(
            ["listen", "--subscription", "held", "--from", host.BaseAddress.ToString(), "--key", StreamHost.AdminKey,
             "--forward", new Uri(sink.BaseUrl, "/octokit").ToString(), "--secret", ReceiverSecret],
            configuration: new InvocationConfiguration { Output = output, Error = error }, cancellationToken: stop.Token);
        await WaitForAsync(() => error.ToString().Contains("Subscription held is paused; waiting for it to be resumed", StringComparison.Ordinal), listening, error);
        Assert.False(listening.IsCompleted, $"hubgate listen stopped on a paused subscription: {error}");
        Assert.Empty(sink.OctokitPushes);

        var catalog = host.App.Services.GetRequiredService<Hubgate.Webhooks.Subscriptions.SubscriptionCatalog>();
        Assert.True(await catalog.SetStatusAsync("held", Hubgate.Storage.SubscriptionStatus.Active, reason: null, default));
        await WaitForAsync(() => !sink.OctokitPushes.IsEmpty, listening, error);
        await stop.CancelAsync();

        Assert.Equal(0, await listening);
        Assert.Equal([kept], sink.OctokitPushes.Select(p => p.DeliveryId));
    }

    [Fact]
    public async Task Listen_ToASubscriptionThatIsNotAStream_StopsWithTheRefusal()
    {
        using var host = new StreamHost();
        using var error = new StringWriter();

        var exit = await HubgateCommand.RunAsync(["listen", "--subscription", "local", "--from", host.BaseAddress.ToString(), "--key", StreamHost.AdminKey],
            configuration: new InvocationConfiguration { Output = TextWriter.Null, Error = error });

        Assert.Equal(2, exit);
        Assert.Contains("409", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Only a Stream subscription has events to read", error.ToString(), StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(Func<bool> done, Task listening, StringWriter error)
    {
        for (var i = 0; i < 1200 && !done() && !listening.IsCompleted; i++)
        {
            await Task.Delay(50);
        }

        Assert.True(done(), $"hubgate listen did not deliver in time; it said: {error}");
    }
}
