using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// What the dashboard and the metrics show about subscriptions, read from <c>subscription_deliveries</c>: each one's
/// backlog (rows not settled), its last hour — the deliveries received in the last hour (by <c>ReceivedAt</c>, indexed),
/// per minute of receipt and by where they stand for it now, with the lag from receipt to delivery — its last error
/// and its most recent deliveries. Every read is bounded: by the hour, by <see cref="MaxWindowRows"/>, by an index.
/// </summary>
internal sealed class SubscriptionStats(IDbContextFactory<HubgateDbContext> databases, TimeProvider time)
{
    /// <summary>The span the window covers, in <see cref="Minutes"/> buckets of a minute.</summary>
    public const int Minutes = 60;

    /// <summary>
    /// The most (delivery, subscription) rows one window reads; past it, the window covers the newest rows only
    /// (<see cref="Window.Truncated"/>): about 55 deliveries a second to each of one subscription for an hour.
    /// </summary>
    public const int MaxWindowRows = 200_000;

    /// <summary>The states a subscription still owes a delivery in.</summary>
    internal static readonly DeliveryState[] Unsettled = [DeliveryState.Pending, DeliveryState.Processing, DeliveryState.Failed];

    /// <summary>How many deliveries each of <paramref name="subscriptions"/> is owed (pending, processing or failed), by index.</summary>
    public async Task<Dictionary<string, long>> BacklogAsync(IReadOnlyCollection<string> subscriptions, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = db.ConfigureAwait(false);
        var counts = await BacklogQuery(db, subscriptions).ToListAsync(cancellationToken).ConfigureAwait(false);
        return WithZeros(subscriptions, counts);
    }

    /// <summary>As <see cref="BacklogAsync"/>, with the stored subscriptions and their status, synchronously (the metrics' callback).</summary>
    public (Dictionary<string, long> Backlog, Dictionary<string, SubscriptionStatus> Status) ReadGauges()
    {
        using var db = databases.CreateDbContext();
        var status = db.Subscriptions.AsNoTracking().Select(s => new { s.Name, s.Status }).ToDictionary(s => s.Name, s => s.Status, StringComparer.Ordinal);

        // The built-in subscription is active until its row is written (the catalog reads it the same way).
        status.TryAdd(SubscriptionValidation.LocalName, SubscriptionStatus.Active);
        return (WithZeros(status.Keys, BacklogQuery(db, status.Keys).ToList()), status);
    }

    private static IQueryable<KeyValuePair<string, long>> BacklogQuery(HubgateDbContext db, IReadOnlyCollection<string> subscriptions)
    {
        var names = subscriptions.ToArray();
        return db.SubscriptionDeliveries.AsNoTracking()
            .Where(s => names.Contains(s.Subscription) && Unsettled.Contains(s.State))
            .GroupBy(s => s.Subscription)
            .Select(g => new KeyValuePair<string, long>(g.Key, g.LongCount()));
    }

    private static Dictionary<string, long> WithZeros(IEnumerable<string> subscriptions, List<KeyValuePair<string, long>> counts)
    {
        var backlog = subscriptions.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        foreach (var (name, count) in counts)
        {
            backlog[name] = count;
        }

        return backlog;
    }

    /// <summary>
    /// The last hour of <paramref name="subscription"/> (of every subscription when null): the deliveries received since
    /// the start of the minute an hour ago, newest first up to <see cref="MaxWindowRows"/>, per minute of receipt.
    /// </summary>
    public async Task<Window> LastHourAsync(string? subscription, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var end = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(1);
        var start = end.AddMinutes(-Minutes);
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = db.ConfigureAwait(false);
        var rows = db.SubscriptionDeliveries.AsNoTracking();
        if (subscription is not null)
        {
            rows = rows.Where(s => s.Subscription == subscription);
        }

        var read = await (
                from d in db.WebhookDeliveries.AsNoTracking()
                where d.ReceivedAt >= start
                join s in rows on d.Id equals s.DeliverySeq
                orderby d.ReceivedAt descending
                select new Row(s.Subscription, s.State, d.ReceivedAt, s.ProcessedAt))
            .Take(MaxWindowRows + 1)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var truncated = read.Count > MaxWindowRows;
        if (truncated)
        {
            read.RemoveAt(read.Count - 1);
        }

        var bySubscription = read.GroupBy(r => r.Subscription, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Hour.Of(g, start), StringComparer.Ordinal);
        return new Window(start, bySubscription, truncated, truncated ? read[^1].ReceivedAt : start);
    }

    internal sealed record Row(string Subscription, DeliveryState State, DateTimeOffset ReceivedAt, DateTimeOffset? ProcessedAt);

    /// <summary>
    /// The most recent error of a delivery <paramref name="subscription"/> still owes or gave up on: the failed row retried
    /// last, else the dead row that died last (by the claim index; a delivered row keeps no error).
    /// </summary>
    public async Task<string?> LastErrorAsync(string subscription, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = db.ConfigureAwait(false);
        foreach (var state in (DeliveryState[])[DeliveryState.Failed, DeliveryState.Dead])
        {
            var error = await db.SubscriptionDeliveries.AsNoTracking()
                .Where(s => s.Subscription == subscription && s.State == state && s.LastError != null)
                .OrderByDescending(s => s.NextAttemptAt).ThenByDescending(s => s.DeliverySeq)
                .Select(s => s.LastError)
                .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>The <paramref name="take"/> deliveries handed to <paramref name="subscription"/> last, newest first, with where each stands.</summary>
    public async Task<List<RecentDelivery>> RecentAsync(string subscription, int take, CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var _ = db.ConfigureAwait(false);
        return await (
                from s in db.SubscriptionDeliveries.AsNoTracking()
                where s.Subscription == subscription
                join d in db.WebhookDeliveries.AsNoTracking() on s.DeliverySeq equals d.Id
                orderby s.DeliverySeq descending
                select new RecentDelivery(d.App, d.DeliveryId, d.Event, d.Action, d.ReceivedAt, s.State, s.Attempts, s.NextAttemptAt, s.ProcessedAt,
                    s.LastStatus, s.LastError ?? s.IgnoredReason))
            .Take(take)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One delivery as a subscription's page lists it.</summary>
    internal sealed record RecentDelivery(string App, string DeliveryId, string Event, string? Action, DateTimeOffset ReceivedAt, DeliveryState State,
        int Attempts, DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt, int? LastStatus, string? Why);

    /// <summary>
    /// The last hour of every subscription that had deliveries in it, from <see cref="Start"/> in minutes; when
    /// <see cref="Truncated"/>, only the rows received from <see cref="CoveredFrom"/> on were read.
    /// </summary>
    internal sealed record Window(DateTimeOffset Start, IReadOnlyDictionary<string, Hour> Subscriptions, bool Truncated, DateTimeOffset CoveredFrom)
    {
        /// <summary>The hour of <paramref name="subscription"/> (empty when it had no deliveries in it).</summary>
        public Hour Of(string subscription) => Subscriptions.TryGetValue(subscription, out var hour) ? hour : Hour.Empty(Start);
    }

    /// <summary>One subscription's hour: a bucket per minute, and the totals.</summary>
    internal sealed record Hour(IReadOnlyList<Minute> Minutes, Minute Total)
    {
        public static Hour Empty(DateTimeOffset start) => Of([], start);

        public static Hour Of(IEnumerable<Row> rows, DateTimeOffset start)
        {
            var buckets = Enumerable.Range(0, SubscriptionStats.Minutes).Select(_ => new Bucket()).ToArray();
            var total = new Bucket();
            foreach (var row in rows)
            {
                var minute = (int)Math.Clamp((row.ReceivedAt - start).Ticks / TimeSpan.TicksPerMinute, 0, SubscriptionStats.Minutes - 1);
                buckets[minute].Add(row);
                total.Add(row);
            }

            return new Hour([.. buckets.Select((b, i) => b.ToMinute(start.AddMinutes(i)))], total.ToMinute(start));
        }
    }

    /// <summary>
    /// The deliveries received in one minute (or the hour, for the total), by where they stand for the subscription now:
    /// delivered (processed), failed (to be retried), dead, pending (not attempted yet, or in flight), ignored and expired;
    /// and the lag from receipt to delivery of the delivered ones (p50, p99; null when none was delivered).
    /// </summary>
    internal sealed record Minute(DateTimeOffset At, int Delivered, int Failed, int Dead, int Pending, int Ignored, int Expired, TimeSpan? LagP50, TimeSpan? LagP99)
    {
        public int Count => Delivered + Failed + Dead + Pending + Ignored + Expired;
    }

    private sealed class Bucket
    {
        private readonly int[] _states = new int[Enum.GetValues<DeliveryState>().Length];
        private readonly List<long> _lags = [];

        public void Add(Row row)
        {
            _states[(int)row.State]++;
            if (row is { State: DeliveryState.Processed, ProcessedAt: { } processed })
            {
                _lags.Add(Math.Max(0, (processed - row.ReceivedAt).Ticks));
            }
        }

        public Minute ToMinute(DateTimeOffset at)
        {
            _lags.Sort();
            int Of(DeliveryState state) => _states[(int)state];
            return new Minute(at, Of(DeliveryState.Processed), Of(DeliveryState.Failed), Of(DeliveryState.Dead),
                Of(DeliveryState.Pending) + Of(DeliveryState.Processing), Of(DeliveryState.Ignored), Of(DeliveryState.Expired),
                Percentile(_lags, 0.50), Percentile(_lags, 0.99));
        }

        /// <summary>The nearest-rank percentile of sorted <paramref name="ticks"/>.</summary>
        private static TimeSpan? Percentile(List<long> ticks, double p) =>
            ticks.Count == 0 ? null : TimeSpan.FromTicks(ticks[Math.Clamp((int)Math.Ceiling(p * ticks.Count) - 1, 0, ticks.Count - 1)]);
    }
}
