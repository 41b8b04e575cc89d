using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Webhooks;

/// <summary>
/// A stored delivery without its body, as listings show it: what GitHub sent, and where it stands for the built-in
/// subscription <c>local</c> (the model and the in-process handlers) — <c>pending</c> until the fan-out has handed it
/// over. Every subscription's state is in <see cref="SubscriptionState"/>.
/// </summary>
internal sealed record DeliverySummary(
    string App, long Sequence, string DeliveryId, string Event, string? Action, long? InstallationId, long? RepositoryId, DeliveryState State,
    int Attempts, DateTimeOffset ReceivedAt, DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt, string? LastError, string? IgnoredReason)
{
    /// <summary>
    /// Every delivery with the built-in subscription's row, if it has one yet: a query listings filter and page, translated
    /// to SQL so the body is never read.
    /// </summary>
    internal static IQueryable<DeliverySummary> Query(HubgateDbContext db) =>
        from d in db.WebhookDeliveries.AsNoTracking()
        join l in db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == SubscriptionValidation.LocalName)
            on d.Id equals l.DeliverySeq into local
        from l in local.DefaultIfEmpty()
        select new DeliverySummary(
            d.App, d.Id, d.DeliveryId, d.Event, d.Action, d.InstallationId, d.RepositoryId,
            l == null ? DeliveryState.Pending : l.State,
            l == null ? 0 : l.Attempts,
            d.ReceivedAt,
            l == null ? d.ReceivedAt : l.NextAttemptAt,
            l == null ? null : l.ProcessedAt,
            l == null ? null : l.LastError,
            l == null ? null : l.IgnoredReason);

    /// <summary>Parses a state name as operators type it (<c>dead</c>, <c>Failed</c>).</summary>
    public static bool TryParseState(string text, out DeliveryState state) =>
        Enum.TryParse(text, ignoreCase: true, out state) && Enum.IsDefined(state);

    /// <summary>The state names, lower case, for messages.</summary>
    public static string StateNames => string.Join(", ", Enum.GetNames<DeliveryState>().Select(n => n.ToLowerInvariant()));
}

/// <summary>Where one delivery stands for one subscription.</summary>
internal sealed record SubscriptionState(
    string Subscription, DeliveryState State, int Attempts, DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt, string? LastError,
    int? LastStatus, string? IgnoredReason)
{
    /// <summary>Every subscription's row for the delivery with sequence <paramref name="sequence"/>, by subscription name.</summary>
    internal static Task<List<SubscriptionState>> ForDeliveryAsync(HubgateDbContext db, long sequence, CancellationToken cancellationToken) =>
        db.SubscriptionDeliveries.AsNoTracking().Where(s => s.DeliverySeq == sequence).OrderBy(s => s.Subscription)
            .Select(s => new SubscriptionState(s.Subscription, s.State, s.Attempts, s.NextAttemptAt, s.ProcessedAt, s.LastError, s.LastStatus, s.IgnoredReason))
            .ToListAsync(cancellationToken);
}
