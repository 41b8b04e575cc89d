using System.Globalization;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Subscriptions;

/// <summary>One delivery as one subscription has it: what GitHub sent, and this subscription's attempts and outcome.</summary>
internal sealed record SubscriptionDeliveryRow(
    long Sequence, string App, string DeliveryId, string Event, string? Action, DateTimeOffset ReceivedAt, DeliveryState State, int Attempts,
    DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt, int? LastStatus, string? LastError, string? IgnoredReason)
{
    /// <summary>The subscription's rows, newest first, of one state when given, below sequence <paramref name="before"/> when given.</summary>
    public static Task<List<SubscriptionDeliveryRow>> ListAsync(HubgateDbContext db, string subscription, DeliveryState? state, long? before, int take,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        var rows = db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == subscription);
        if (state is { } wanted)
        {
            rows = rows.Where(s => s.State == wanted);
        }

        if (before is { } below)
        {
            rows = rows.Where(s => s.DeliverySeq < below);
        }

        return (from s in rows
                join d in db.WebhookDeliveries.AsNoTracking() on s.DeliverySeq equals d.Id
                orderby s.DeliverySeq descending
                select new SubscriptionDeliveryRow(d.Id, d.App, d.DeliveryId, d.Event, d.Action, d.ReceivedAt, s.State, s.Attempts, s.NextAttemptAt,
                    s.ProcessedAt, s.LastStatus, s.LastError, s.IgnoredReason))
            .Take(take).ToListAsync(cancellationToken);
    }
}

/// <summary>The bounds of a replay: an instant (ISO 8601, <c>2026-01-31T10:00:00Z</c>) or a duration before now (<c>2h</c>, <c>00:30:00</c>).</summary>
internal static class ReplayBounds
{
    public static bool TryParse(string? text, DateTimeOffset now, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value)
            && text.Contains('-', StringComparison.Ordinal))
        {
            return true;
        }

        if (Durations.TryParse(text, out var ago))
        {
            value = now - ago;
            return true;
        }

        return false;
    }
}
