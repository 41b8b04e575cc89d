using Hubgate.Storage;
using Hubgate.Testing;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks.Store;
using static Hubgate.Tests.Webhooks.WebhookTestKit;

namespace Hubgate.Tests.Webhooks;

/// <summary>The deliveries kept in memory for the workers after ingest: bounded, and the same bytes as the database's.</summary>
public sealed class RecentDeliveriesTests
{
    private static WebhookDeliveryEntity Entity(long sequence, int size) => new()
    {
        Id = sequence,
        DeliveryId = $"d-{sequence}",
        Event = "push",
        Body = new byte[size],
        BodySha256 = "",
    };

    [Fact]
    public void PastTheBudget_TheOldestGoFirst_AndTheBytesKeptStayWithinIt()
    {
        var recent = new RecentDeliveries();
        const int Size = 512 * 1024;
        var count = (int)(RecentDeliveries.Budget / Size) + 10;
        for (var i = 1; i <= count; i++)
        {
            recent.Add(Entity(i, Size));
        }

        Assert.Equal((int)(RecentDeliveries.Budget / Size), recent.Count);
        Assert.False(recent.TryGet(1, out _));
        Assert.False(recent.TryGet(10, out _));
        Assert.True(recent.TryGet(11, out var kept));
        Assert.Equal(11, kept.Id);
        Assert.True(recent.TryGet(count, out _));
    }

    [Fact]
    public void ABodyLargerThanLargestKept_IsNotKept_AndAddingTwiceKeepsTheFirst()
    {
        var recent = new RecentDeliveries();
        recent.Add(Entity(1, RecentDeliveries.LargestKept + 1));
        var first = Entity(2, 10);
        recent.Add(first);
        recent.Add(Entity(2, 20));

        Assert.False(recent.TryGet(1, out _));
        Assert.True(recent.TryGet(2, out var kept));
        Assert.Same(first, kept);
        Assert.Equal(1, recent.Count);
    }

    [Fact]
    public async Task StoredDeliveries_AreLoadedFromMemory_AndAfterARestartFromTheDatabase_ByteForByte()
    {
        var settings = Settings();
        settings["Webhooks:RunWorker"] = "true";
        var first = await TestServices.StartAsync(settings);
        var directory = first.Directory;
        var bodies = new[] { WebhookFixtures.Load("push", "payload.json"), WebhookFixtures.Load("ping", "payload.json") };
        await StoreAsync(first, "push", bodies[0], "kept-1");
        await StoreAsync(first, "ping", bodies[1], "kept-2");
        var store = first.Get<DeliveryStore>();
        Assert.Equal(2, store.Recent.Count);

        var fromMemory = await store.LoadAsync([1, 2], CancellationToken.None);
        await first.DisposeAsync();
        await using var second = await TestServices.StartAsync(settings, directory: directory);
        try
        {
            var restarted = second.Get<DeliveryStore>();
            Assert.Equal(0, restarted.Recent.Count);
            var fromDatabase = await restarted.LoadAsync([1, 2, 3], CancellationToken.None);

            Assert.Equal([1L, 2L], fromMemory.Keys.Order());
            Assert.Equal([1L, 2L], fromDatabase.Keys.Order());
            for (var i = 0; i < 2; i++)
            {
                var (memory, database) = (fromMemory[i + 1], fromDatabase[i + 1]);
                Assert.Equal(bodies[i], memory.Body);
                Assert.Equal(bodies[i], database.Body);
                Assert.Equal(database.DeliveryId, memory.DeliveryId);
                Assert.Equal(database.Event, memory.Event);
                Assert.Equal(database.BodySha256, memory.BodySha256);
                Assert.InRange((database.ReceivedAt - memory.ReceivedAt).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1)); // PostgreSQL keeps microseconds
            }
        }
        finally
        {
            second.DeleteFiles();
        }
    }

    [Fact]
    public async Task OnAnIngestOnlyReplica_NothingIsKept_AndStoredDeliveriesAreLoadedFromTheDatabase()
    {
        await using var services = await TestServices.StartAsync(Settings()); // Webhooks:RunWorker false
        try
        {
            var body = WebhookFixtures.Load("push", "payload.json");
            await StoreAsync(services, "push", body, "ingest-only-1");
            var store = services.Get<DeliveryStore>();

            var loaded = await store.LoadAsync([1], CancellationToken.None);

            Assert.Equal(0, store.Recent.Count);
            Assert.Equal(body, loaded[1].Body);
        }
        finally
        {
            services.DeleteFiles();
        }
    }
}
