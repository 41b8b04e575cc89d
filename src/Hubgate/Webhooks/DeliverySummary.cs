using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Webhooks;

/// <summary>
/// A stored delivery without its body, as listings show it: what GitHub sent, and where it stands for the built-in
/// subscription <c>local</c> (the model and the in-process handlers) — <c>pending</c> until the fan-out has handed it
/// over. Every subscription's state is in <see cref="SubscriptionState"/>.
/// </summary>
internal sealed record DeliverySummary
{
    public required string App { get; init; }
    public long Sequence { get; init; }
    public required string DeliveryId { get; init; }
    public required string Event { get; init; }
    public string? Action { get; init; }
    public long? InstallationId { get; init; }
    public long? RepositoryId { get; init; }
    public DeliveryState State { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public DateTimeOffset? ProcessedAt { get; init; }
    public string? LastError { get; init; }
    public string? IgnoredReason { get; init; }

    /// <summary>
    /// Every delivery with the built-in subscription's row, if it has one yet: a query listings filter and page (by the
    /// properties of this type), translated to SQL so the body is never read.
    /// </summary>
    internal static IQueryable<DeliverySummary> Query(HubgateDbContext db) =>
        from d in db.WebhookDeliveries.AsNoTracking()
        join l in db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == SubscriptionValidation.LocalName)
            on d.Id equals l.DeliverySeq into local
        from l in local.DefaultIfEmpty()
        select new DeliverySummary
        {
            App = d.App, Sequence = d.Id, DeliveryId = d.DeliveryId, Event = d.Event, Action = d.Action,
            InstallationId = d.InstallationId, RepositoryId = d.RepositoryId,
            State = l == null ? DeliveryState.Pending : l.State,
            Attempts = l == null ? 0 : l.Attempts,
            ReceivedAt = d.ReceivedAt,
            NextAttemptAt = l == null ? d.ReceivedAt : l.NextAttemptAt,
            ProcessedAt = l == null ? null : l.ProcessedAt,
            LastError = l == null ? null : l.LastError,
            IgnoredReason = l == null ? null : l.IgnoredReason,
        };

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
