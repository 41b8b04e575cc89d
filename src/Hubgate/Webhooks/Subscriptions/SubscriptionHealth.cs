using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// How a subscription is doing, read from its rows in <c>subscription_deliveries</c>: what it is still owed (backlog),
/// what came of the last hour, how late deliveries reached it and the last error. Every query is along the index
/// (subscription, state, next attempt) and bounded, so the list page costs the same with a large inbox.
/// </summary>
/// <param name="Pending">Rows waiting for their first attempt (or a replay).</param>
/// <param name="Processing">Rows being attempted now.</param>
/// <param name="Failed">Rows whose last attempt failed, waiting for a retry.</param>
/// <param name="Delivered">Rows delivered in the last hour.</param>
/// <param name="Dead">Rows that used their last retry in the last hour.</param>
/// <param name="SuccessRate">Delivered ÷ (delivered + dead + failed now), 0–1; null when there is nothing to rate.</param>
/// <param name="LagP50">Median receipt → delivered over the last hour's deliveries (the latest <see cref="LagSample"/>).</param>
/// <param name="LagP99">99th percentile of the same.</param>
/// <param name="LastError">The newest delivery now failed or dead for this subscription, with its error.</param>
internal sealed record SubscriptionHealth(
    int Pending, int Processing, int Failed, int Delivered, int Dead, double? SuccessRate, TimeSpan? LagP50, TimeSpan? LagP99,
    SubscriptionError? LastError)
{
    /// <summary>The window of the counts and the lag.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>At most this many of the window's deliveries (the latest) are read for the lag percentiles.</summary>
    public const int LagSample = 10_000;

    /// <summary>Rows still owed: pending, processing and failed.</summary>
    public int Backlog => Pending + Processing + Failed;

    public static async Task<SubscriptionHealth> LoadAsync(HubgateDbContext db, Subscription subscription, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(subscription);
        var name = subscription.Name;
        var since = now - Window;
        var rows = db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == name);

        var backlog = await rows.Where(s => s.State == DeliveryState.Pending || s.State == DeliveryState.Processing || s.State == DeliveryState.Failed).GroupBy(s => s.State).Select(g => new { State = g.Key, Count = g.Count() })
            .ToDictionaryAsync(g => g.State, g => g.Count, cancellationToken).ConfigureAwait(false);
        int Owing(DeliveryState state) => backlog.GetValueOrDefault(state);

        // A worker writes NextAttemptAt = the attempt's time with every outcome, so for delivered and dead rows it bounds
        // the scan along the index; a stream's rows are acknowledged (ProcessedAt) without it.
        var delivered = rows.Where(s => s.State == DeliveryState.Processed && s.ProcessedAt >= since);
        if (subscription.Kind != SubscriptionKind.Stream)
        {
            delivered = delivered.Where(s => s.NextAttemptAt >= since);
        }

        var deliveredCount = await delivered.CountAsync(cancellationToken).ConfigureAwait(false);
        var dead = await rows.CountAsync(s => s.State == DeliveryState.Dead && s.NextAttemptAt >= since, cancellationToken).ConfigureAwait(false);

        var lags = await (from s in delivered
                          join d in db.WebhookDeliveries.AsNoTracking() on s.DeliverySeq equals d.Id
                          orderby s.DeliverySeq descending
                          select new { s.ProcessedAt, d.ReceivedAt })
            .Take(LagSample).ToListAsync(cancellationToken).ConfigureAwait(false);
        var sorted = lags.Select(l => l.ProcessedAt!.Value - l.ReceivedAt).Order().ToList();

        var lastError = await (from s in rows
                               where (s.State == DeliveryState.Failed || s.State == DeliveryState.Dead) && s.LastError != null
                               join d in db.WebhookDeliveries.AsNoTracking() on s.DeliverySeq equals d.Id
                               orderby s.DeliverySeq descending
                               select new SubscriptionError(s.LastError!, s.LastStatus, d.App, d.DeliveryId, d.Event, s.State, s.Attempts, d.ReceivedAt,
                                   s.State == DeliveryState.Dead ? s.NextAttemptAt : null,
                                   s.State == DeliveryState.Failed ? s.NextAttemptAt : null))
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);

        var rated = deliveredCount + dead + Owing(DeliveryState.Failed);
        return new SubscriptionHealth(
            Owing(DeliveryState.Pending), Owing(DeliveryState.Processing), Owing(DeliveryState.Failed), deliveredCount, dead,
            rated == 0 ? null : (double)deliveredCount / rated,
            Percentile(sorted, 0.50), Percentile(sorted, 0.99), lastError);
    }

    /// <summary>The nearest-rank percentile of <paramref name="sorted"/> (ascending); null when empty.</summary>
    internal static TimeSpan? Percentile(IReadOnlyList<TimeSpan> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}

/// <summary>
/// A subscription's newest failed or dead delivery: the error and HTTP status of its last attempt, which delivery, and
/// when — <paramref name="DeadAt"/> (the last attempt's time) for a dead one, <paramref name="NextAttemptAt"/> for one
/// still to be retried.
/// </summary>
internal sealed record SubscriptionError(
    string Message, int? Status, string App, string DeliveryId, string Event, DeliveryState State, int Attempts, DateTimeOffset ReceivedAt,
    DateTimeOffset? DeadAt, DateTimeOffset? NextAttemptAt);
