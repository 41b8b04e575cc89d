using System.Collections.Concurrent;
using Hubgate.Storage;

namespace Hubgate.Webhooks.Store;

/// <summary>
/// The deliveries this process stored last, as ingest stored them (body as GitHub sent it), for the subscriptions'
/// workers to attempt without reading each body back from the database and decompressing it once per subscription:
/// with a few subscriptions keeping up, almost every attempt is of a delivery stored a moment ago. Bounded by bytes
/// (<see cref="Budget"/>, oldest out first); bodies larger than <see cref="LargestKept"/> are not kept. What is not
/// here — older, larger, stored by another replica, or after a restart — is read from the database as before. The
/// entries are never changed after they are added: every worker only reads them.
/// </summary>
internal sealed class RecentDeliveries
{
    /// <summary>Bytes of bodies kept at most.</summary>
    public const long Budget = 32L * 1024 * 1024;

    /// <summary>Bodies larger than this are read from the database when attempted.</summary>
    public const int LargestKept = 1024 * 1024;

    private readonly ConcurrentDictionary<long, WebhookDeliveryEntity> _bySequence = new();
    private readonly ConcurrentQueue<(long Sequence, int Size)> _order = new();
    private long _bytes;

    /// <summary>How many deliveries are kept now.</summary>
    public int Count => _bySequence.Count;

    /// <summary>Keeps <paramref name="delivery"/> (stored, its <see cref="WebhookDeliveryEntity.Id"/> set); drops the oldest beyond the budget.</summary>
    public void Add(WebhookDeliveryEntity delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.Body.Length > LargestKept || !_bySequence.TryAdd(delivery.Id, delivery))
        {
            return;
        }

        _order.Enqueue((delivery.Id, delivery.Body.Length));
        var bytes = Interlocked.Add(ref _bytes, delivery.Body.Length);
        while (bytes > Budget && _order.TryDequeue(out var oldest))
        {
            _bySequence.TryRemove(oldest.Sequence, out _);
            bytes = Interlocked.Add(ref _bytes, -oldest.Size);
        }
    }

    /// <summary>The delivery stored under <paramref name="sequence"/>, when it is still kept.</summary>
    public bool TryGet(long sequence, out WebhookDeliveryEntity delivery) => _bySequence.TryGetValue(sequence, out delivery!);
}
