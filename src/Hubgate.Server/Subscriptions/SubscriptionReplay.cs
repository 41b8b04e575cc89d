using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// Replays a time range to one subscription (API and CLI): its rows of the deliveries received in [since, until), of one
/// event (<c>push</c>) or event and action (<c>pull_request.closed</c>) when given, go back to <c>pending</c> from any
/// state but <c>processing</c>, with a full set of retries.
/// </summary>
internal static class SubscriptionReplay
{
    /// <summary>Rows per statement: small enough that no statement holds SQLite's write lock for long.</summary>
    public const int BatchSize = 500;

    /// <summary>What was asked, checked; <see cref="Problem"/> says what is wrong (naming the parameter) when not.</summary>
    public sealed record Range(DateTimeOffset Since, DateTimeOffset Until, string? Event, string? Action, string? Problem);

    public static Range Parse(string? since, string? until, string? @event, DateTimeOffset now)
    {
        if (!ReplayBounds.TryParse(since, now, out var from))
        {
            return new Range(default, default, null, null, since is null
                ? "since is required: an instant (2026-01-31T10:00:00Z) or a duration before now (2h)."
                : $"since='{since}' is neither an instant (2026-01-31T10:00:00Z) nor a duration before now (2h).");
        }

        var to = now;
        if (until is not null && !ReplayBounds.TryParse(until, now, out to))
        {
            return new Range(default, default, null, null, $"until='{until}' is neither an instant nor a duration before now.");
        }

        if (to <= from)
        {
            return new Range(default, default, null, null, $"until ({to:u}) must be after since ({from:u}).");
        }

        string? name = null, action = null;
        if (!string.IsNullOrEmpty(@event))
        {
            var dot = @event.IndexOf('.', StringComparison.Ordinal);
            (name, action) = dot < 0 ? (@event, null) : (@event[..dot], @event[(dot + 1)..]);
            if (name.Length == 0 || action?.Length == 0)
            {
                return new Range(default, default, null, null, $"event='{@event}': use an event (push) or an event and action (pull_request.closed).");
            }
        }

        return new Range(from, to, name, action, null);
    }

    /// <summary>Requeues the range's rows and wakes the workers; returns how many rows were requeued.</summary>
    public static async Task<int> RunAsync(DeliveryStore store, WorkSignal work, TimeProvider time, string subscription, Range range,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(range);
        var requeued = await store.RequeueRangeAsync(subscription, range.Since, range.Until, range.Event, range.Action, DeliveryStore.AnyButProcessing,
            BatchSize, time.GetUtcNow(), cancellationToken);
        if (requeued > 0)
        {
            work.Notify();
        }

        return requeued;
    }
}
