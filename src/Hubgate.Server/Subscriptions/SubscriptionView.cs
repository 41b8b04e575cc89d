using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// A subscription as the API and the CLI show it: its definition (never its secret), its state, and how it is doing.
/// <see cref="Retry"/>, <see cref="Timeout"/> and <see cref="DisableAfter"/> are null for the built-in <c>local</c>,
/// which follows <c>Webhooks:*</c>.
/// </summary>
internal sealed record SubscriptionView(
    string Name,
    SubscriptionKind Kind,
    SubscriptionSource Source,
    SubscriptionStatus Status,
    string? DisabledReason,
    DateTimeOffset? FailingSince,
    SubscriptionFilterView Filter,
    SubscriptionOrdering Ordering,
    int Concurrency,
    IReadOnlyList<TimeSpan>? Retry,
    TimeSpan? Timeout,
    TimeSpan? DisableAfter,
    string? Url,
    RabbitMqView? RabbitMq,
    DateTimeOffset? CreatedAt,
    SubscriptionStatsView Stats)
{
    public static SubscriptionView From(Subscription subscription, SubscriptionHealth stats)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(stats);
        var options = subscription.Options;
        var local = subscription.Kind == SubscriptionKind.Local;
        return new SubscriptionView(
            subscription.Name, subscription.Kind, subscription.Source, subscription.Status, subscription.DisabledReason, subscription.FailingSince,
            new SubscriptionFilterView([.. options.Events], [.. options.Installations], [.. options.Repositories]),
            options.Ordering, options.Concurrency,
            local ? null : options.EffectiveRetry,
            local ? null : options.Timeout,
            local ? null : options.DisableAfter,
            options.Url,
            options.RabbitMq is { } rabbit ? RabbitMqView.From(rabbit) : null,
            subscription.CreatedAt == DateTimeOffset.MinValue ? null : subscription.CreatedAt, // local before its row is first written
            SubscriptionStatsView.From(stats));
    }

    /// <summary>Every subscription with its stats, by name.</summary>
    public static async Task<List<SubscriptionView>> LoadAllAsync(SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var all = await catalog.RefreshAsync(cancellationToken);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var now = time.GetUtcNow();
        var views = new List<SubscriptionView>(all.Count);
        foreach (var subscription in all)
        {
            views.Add(From(subscription, await SubscriptionHealth.LoadAsync(db, subscription, now, cancellationToken)));
        }

        return views;
    }

    /// <summary>One subscription with its stats; null when there is none of that name.</summary>
    public static async Task<SubscriptionView?> LoadAsync(SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases,
        TimeProvider time, string name, CancellationToken cancellationToken)
    {
        var subscription = (await catalog.RefreshAsync(cancellationToken)).FirstOrDefault(s => s.Name == name);
        if (subscription is null)
        {
            return null;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return From(subscription, await SubscriptionHealth.LoadAsync(db, subscription, time.GetUtcNow(), cancellationToken));
    }
}

/// <summary>A RabbitMQ subscription's broker (its URI with the password masked), exchange and routing key.</summary>
internal sealed record RabbitMqView(string? Uri, string Exchange, string RoutingKey, bool DeclareExchange)
{
    public static RabbitMqView From(Hubgate.Webhooks.Subscriptions.RabbitMq.RabbitMqOptions rabbit) =>
        new(Hubgate.Webhooks.Subscriptions.RabbitMq.BrokerUri.Masked(rabbit.Uri), rabbit.Exchange, rabbit.RoutingKey, rabbit.DeclareExchange);
}

/// <summary>Which deliveries a subscription takes; an empty list means every one.</summary>
internal sealed record SubscriptionFilterView(IReadOnlyList<string> Events, IReadOnlyList<long> Installations, IReadOnlyList<string> Repositories);

/// <summary>
/// <see cref="SubscriptionHealth"/> for JSON: the backlog, the last hour's outcomes, the success rate (0–1), the lag
/// percentiles in milliseconds and the last error.
/// </summary>
internal sealed record SubscriptionStatsView(
    int Backlog, int Pending, int Processing, int Failed, int DeliveredLastHour, int DeadLastHour, double? SuccessRate, double? LagP50Ms,
    double? LagP99Ms, SubscriptionError? LastError)
{
    public static SubscriptionStatsView From(SubscriptionHealth stats) => new(
        stats.Backlog, stats.Pending, stats.Processing, stats.Failed, stats.Delivered, stats.Dead, stats.SuccessRate,
        stats.LagP50?.TotalMilliseconds, stats.LagP99?.TotalMilliseconds, stats.LastError);
}
