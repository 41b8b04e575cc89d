using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>
/// Where a stream's listener without a cursor of its own starts (<see cref="DeliveryStore.StreamStartAsync"/>): never
/// after a delivery it is owed, even when the fan-out hands that delivery out while the start is being read.
/// </summary>
// The statements' order is the same on both databases; one pass keeps the suite within its time.
[Trait("Database", "Sqlite")]
public sealed class StreamStartTests
{
    [Fact]
    public async Task ADeliveryFannedOutWhileTheStartIsRead_IsNeverSkipped()
    {
        var settings = Settings();
        settings["Subscriptions:dev:Kind"] = "Stream";
        await using var services = await TestServices.StartAsync(settings);
        try
        {
            await services.Get<SubscriptionCatalog>().SyncDeclaredAsync(CancellationToken.None);
            var store = services.Get<DeliveryStore>();
            var fanOut = services.Get<FanOut>();
            var now = services.Time.GetUtcNow();
            // Each round: a new delivery is handed out at the moment a listener connects with nothing owed. The start read
            // before the fan-out committed is the last acknowledged one; after it, just before the new one. Anything later
            // would skip it. The window is narrow: it takes many rounds to meet it (before the fix, in each of five runs of 300).
            var late = new List<string>();
            for (var round = 1; round <= 300; round++)
            {
                await StoreAsync(services, "push", "{\"n\":1}"u8.ToArray(), $"start-{round}");
                var handing = Task.Run(() => fanOut.RunAsync(CancellationToken.None));
                // Four listeners at once: four chances to meet the fan-out's commit.
                var starts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => store.StreamStartAsync("dev", CancellationToken.None))));
                Assert.Equal(1, await handing);

                late.AddRange(starts.Where(s => s > round - 1).Select(s => $"round {round}: started after {s}"));

                Assert.Equal(1, await store.AcknowledgeAsync("dev", round, now, CancellationToken.None));
            }

            Assert.Empty(late);
        }
        finally
        {
            services.DeleteFiles();
        }
    }
}
