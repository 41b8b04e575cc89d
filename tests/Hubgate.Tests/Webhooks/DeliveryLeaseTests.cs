using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>
/// Short leases kept alive by the worker's heartbeat while handlers run, and the handlers' own timeout apart from the
/// lease. On the system clock: heartbeats, lease expiry and the timeout all run in real time here.
/// </summary>
public sealed class DeliveryLeaseTests
{
    private static Dictionary<string, string?> LeaseSettings(string handlerTimeout = "00:05:00")
    {
        var settings = Settings();
        settings["Webhooks:LeaseDuration"] = "00:00:03";
        settings["Webhooks:HeartbeatInterval"] = "00:00:00.500";
        settings["Webhooks:HandlerTimeout"] = handlerTimeout;
        return settings;
    }

    private static Task<TestServices> StartAsync(Dictionary<string, string?> settings, Func<CancellationToken, Task> handler) =>
        TestServices.StartAsync(settings, configure: s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.Webhooks().On("push", (_, token) => handler(token));
        });

    [Fact]
    public async Task HandlerRunningTwiceAsLongAsTheLease_KeepsItByHeartbeat_AndNoOtherWorkerTakesItOver()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var runs = 0;
        await using var services = await StartAsync(LeaseSettings(), async _ =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                started.TrySetResult();
                await release.Task;
            }
        });
        try
        {
            await StoreFixtureAsync(services, "push", "payload.json", "slow");
            var worker = services.Get<DeliveryWorker>();
            var run = worker.RunOnceAsync(CancellationToken.None);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
            var other = ActivatorUtilities.CreateInstance<DeliveryWorker>(services.Provider);

            // Six seconds of handler time, twice the lease: another worker looking for due work all along finds none,
            // and the lease keeps moving on.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var firstLease = (await ReadAsync(services, "slow")).LeaseExpiresAt;
            while (clock.Elapsed < TimeSpan.FromSeconds(6))
            {
                Assert.Equal(0, await other.RunOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
                await Task.Delay(200);
            }

            var row = await ReadAsync(services, "slow");
            Assert.Equal(DeliveryState.Processing, row.State);
            Assert.True(row.LeaseExpiresAt > firstLease + TimeSpan.FromSeconds(3), $"lease {firstLease} → {row.LeaseExpiresAt}");

            release.SetResult();
            Assert.Equal(1, await run.WaitAsync(TimeSpan.FromSeconds(20)));
            row = await ReadAsync(services, "slow");
            Assert.Equal(DeliveryState.Processed, row.State);
            Assert.Equal(1, row.Attempts);
            Assert.Equal(1, runs);
            Assert.Null(row.LeaseOwner);
        }
        finally
        {
            release.TrySetResult();
            services.DeleteFiles();
        }
    }

    [Fact]
    public async Task HandlerTimeout_CancelsTheHandlers_NotTheLease()
    {
        var started = new TaskCompletionSource();
        await using var services = await StartAsync(LeaseSettings(handlerTimeout: "00:00:06"), async token =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        });
        try
        {
            await StoreFixtureAsync(services, "push", "payload.json", "stuck");
            var run = services.Get<DeliveryWorker>().RunOnceAsync(CancellationToken.None);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // Past the lease, within the handler timeout: still running.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.False(run.IsCompleted);
            Assert.Equal(DeliveryState.Processing, (await ReadAsync(services, "stuck")).State);

            // Past the handler timeout: cancelled, and the attempt failed with why.
            Assert.Equal(1, await run.WaitAsync(TimeSpan.FromSeconds(30)));
            var row = await ReadAsync(services, "stuck");
            Assert.Equal(DeliveryState.Failed, row.State);
            Assert.Contains("Webhooks:HandlerTimeout", row.LastError, StringComparison.Ordinal);
        }
        finally
        {
            services.DeleteFiles();
        }
    }

    [Theory]
    [InlineData("Webhooks:HeartbeatInterval", "00:00:03", "Webhooks:HeartbeatInterval must be more than zero and less than Webhooks:LeaseDuration")]
    [InlineData("Webhooks:LeaseDuration", "00:00:00", "Webhooks:LeaseDuration must be between")]
    [InlineData("Webhooks:HandlerTimeout", "-00:00:01", "Webhooks:HandlerTimeout must be more than zero")]
    public async Task InvalidLeaseSettings_AreRefusedAtStartUp_NamingTheKey(string key, string value, string message)
    {
        var settings = LeaseSettings();
        settings[key] = value;
        await using var services = await TestServices.StartAsync(settings);
        try
        {
            var error = Assert.Throws<OptionsValidationException>(() => services.Get<IOptions<WebhookOptions>>().Value);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            services.DeleteFiles();
        }
    }
}
