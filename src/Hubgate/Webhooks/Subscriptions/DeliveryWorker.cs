using System.Diagnostics;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Hubgate.Webhooks.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Delivers one subscription's deliveries: claims its due rows with a lease (<see cref="DeliveryStore.ClaimAsync"/>),
/// makes one attempt each through the subscription kind's <see cref="IDeliveryDispatch"/> — the model and in-process
/// handlers for the built-in <c>local</c>, a signed POST for an HTTP subscription — and records every outcome of the
/// batch in one transaction. Leases are short (<c>Webhooks:LeaseDuration</c>) and renewed by a heartbeat while the
/// attempts run, so a row whose worker died is claimed again within a lease (at the next start on SQLite). One worker
/// per subscription: a slow or failing destination never holds up another.
/// </summary>
internal sealed partial class DeliveryWorker
{
    private const int MaxErrorLength = 4000;

    private readonly DeliveryStore _store;
    private readonly SubscriptionCatalog _catalog;
    private readonly FanOut _fanOut;
    private readonly IDeliveryDispatch _dispatch;
    private readonly IOptionsMonitor<WebhookOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>The built-in subscription's worker (the one DI gives).</summary>
    public DeliveryWorker(WorkerIdentity identity, DeliveryStore store, SubscriptionCatalog catalog, FanOut fanOut, LocalDispatch dispatch,
        IOptionsMonitor<WebhookOptions> options, TimeProvider time, ILogger<DeliveryWorker> logger)
        : this(identity, SubscriptionValidation.LocalName, store, catalog, fanOut, dispatch, options, time, logger)
    {
    }

    internal DeliveryWorker(WorkerIdentity identity, string subscription, DeliveryStore store, SubscriptionCatalog catalog, FanOut fanOut, IDeliveryDispatch dispatch,
        IOptionsMonitor<WebhookOptions> options, TimeProvider time, ILogger logger)
    {
        Subscription = subscription;
        _store = store;
        _catalog = catalog;
        _fanOut = fanOut;
        _dispatch = dispatch;
        _options = options;
        _time = time;
        _logger = logger;
        ArgumentNullException.ThrowIfNull(identity);
        Name = $"{identity.Name}:{Guid.NewGuid().ToString("N")[..6]}/{subscription}";
    }

    /// <summary>The subscription this worker delivers.</summary>
    public string Subscription { get; }

    /// <summary>This worker's name in <see cref="SubscriptionDeliveryEntity.LeaseOwner"/>.</summary>
    public string Name { get; }

    /// <summary>
    /// Hands new deliveries to the subscriptions (<see cref="FanOut"/>), then claims and makes one attempt for each of
    /// one batch of this subscription's due deliveries, and records every outcome in one transaction. A crash before that
    /// commit leaves the batch leased: it is attempted again after the lease (handlers are idempotent; receivers
    /// deduplicate on the delivery id). Returns how many were attempted (0 when the subscription is paused or disabled).
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _fanOut.RunUnlessRunningAsync(cancellationToken).ConfigureAwait(false);
        var subscription = await _catalog.FindAsync(Subscription, cancellationToken).ConfigureAwait(false);
        if (subscription is not { IsActive: true })
        {
            return 0;
        }

        var settings = _options.CurrentValue;
        var now = _time.GetUtcNow();
        // A concurrent destination claims up to eight rounds of Concurrency at once: each batch costs two commits (claim,
        // outcomes), each an fsync on SQLite that holds the single write lock, so one round per batch capped the
        // throughput of every subscription together at a few hundred deliveries a second. A claim takes only what is due.
        var batchSize = _dispatch.Sequential ? settings.ClaimBatchSize : Math.Min(Math.Max(settings.ClaimBatchSize, subscription.Options.Concurrency * 8), 1000);
        var claimed = await _store.ClaimAsync(Subscription, Name, batchSize, subscription.IsOrdered, MaxAttempts(subscription, settings),
            now, now + settings.LeaseDuration, cancellationToken).ConfigureAwait(false);
        if (claimed.Count == 0)
        {
            return 0;
        }

        var deliveries = await _store.LoadAsync([.. claimed.Select(c => c.Seq)], cancellationToken).ConfigureAwait(false);
        var outcomes = new Outcome?[claimed.Count];
        using var heartbeat = new CancellationTokenSource();
        var beating = HeartbeatAsync(settings, heartbeat.Token);
        try
        {
            if (_dispatch.Sequential)
            {
                for (var i = 0; i < claimed.Count; i++)
                {
                    outcomes[i] = await AttemptAsync(subscription, claimed[i], deliveries, settings, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                await Parallel.ForAsync(0, claimed.Count,
                    new ParallelOptions { MaxDegreeOfParallelism = subscription.Options.Concurrency, CancellationToken = CancellationToken.None },
                    async (i, _) => outcomes[i] = await AttemptAsync(subscription, claimed[i], deliveries, settings, cancellationToken).ConfigureAwait(false))
                    .ConfigureAwait(false);
            }
        }
        finally
        {
            // Outcomes are recorded while the heartbeat still holds their leases.
            try
            {
                await FinishAsync(subscription, [.. outcomes.OfType<Outcome>()]).ConfigureAwait(false);
            }
            finally
            {
                await heartbeat.CancelAsync().ConfigureAwait(false);
                await beating.ConfigureAwait(false);
            }
        }

        return outcomes.Count(o => o is not null);
    }

    /// <summary>How many attempts a delivery gets since its last replay before it is dead.</summary>
    private static int MaxAttempts(Subscription subscription, WebhookOptions settings) =>
        subscription.Kind == SubscriptionKind.Local ? settings.MaxAttempts : subscription.Options.EffectiveRetry.Count + 1;

    /// <summary>
    /// Until <paramref name="stop"/>: every <see cref="WebhookOptions.EffectiveHeartbeatInterval"/>, extends the lease of
    /// everything this worker holds in one statement. A failed beat is logged and tried again at the next; if beats keep
    /// failing the leases run out and another worker takes over, and this one's outcomes are then not recorded.
    /// </summary>
    private async Task HeartbeatAsync(WebhookOptions settings, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(settings.EffectiveHeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    await _store.RenewAsync(Subscription, Name, _time.GetUtcNow() + settings.LeaseDuration, stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    Log.HeartbeatFailed(_logger, Subscription, e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One attempt for one claimed row: the outcome to record, or null when it was handed back or is gone.</summary>
    private async Task<Outcome?> AttemptAsync(Subscription subscription, Claimed claim, Dictionary<long, WebhookDeliveryEntity> deliveries,
        WebhookOptions settings, CancellationToken stoppingToken)
    {
        if (!deliveries.TryGetValue(claim.Seq, out var delivery))
        {
            return null; // pruned meanwhile
        }

        if (stoppingToken.IsCancellationRequested)
        {
            await _store.ReleaseAsync(Subscription, claim.Seq, Name, _time.GetUtcNow()).ConfigureAwait(false);
            return null;
        }

        using var activity = HubgateTelemetry.Source.StartActivity("webhook.deliver");
        activity?.SetTag("hubgate.subscription", Subscription);
        activity?.SetTag("github.event", delivery.Event);
        activity?.SetTag("github.delivery", delivery.DeliveryId);
        activity?.SetTag("hubgate.attempt", claim.Attempts);
        var started = Stopwatch.GetTimestamp();
        AttemptResult result;
        try
        {
            result = await _dispatch.AttemptAsync(subscription, delivery, claim.Attempts, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the delivery back untouched for the next start (or another replica).
            Log.Released(_logger, Subscription, delivery.DeliveryId, delivery.Event);
            await _store.ReleaseAsync(Subscription, claim.Seq, Name, _time.GetUtcNow()).ConfigureAwait(false);
            return null;
        }

        var now = _time.GetUtcNow();
        var row = new SubscriptionDeliveryEntity
        {
            Subscription = Subscription, DeliverySeq = claim.Seq, Attempts = claim.Attempts, LastStatus = result.Status, NextAttemptAt = now,
        };
        TimeSpan? retryIn = null;
        switch (result.Outcome)
        {
            case AttemptOutcome.Delivered:
                row.State = DeliveryState.Processed;
                row.ProcessedAt = now;
                break;
            case AttemptOutcome.Ignored:
                row.State = DeliveryState.Ignored;
                row.ProcessedAt = now;
                row.IgnoredReason = result.Error;
                break;
            default:
                row.LastError = Truncate(result.Error);
                retryIn = subscription.Kind == SubscriptionKind.Local
                    ? (claim.SinceReplay >= settings.MaxAttempts ? null : RetryDelay(claim.SinceReplay, settings))
                    : RetrySchedule.After(subscription.Options.EffectiveRetry, claim.SinceReplay, Random.Shared.NextDouble());
                row.State = retryIn is null ? DeliveryState.Dead : DeliveryState.Failed;
                row.NextAttemptAt = now + (retryIn ?? TimeSpan.Zero);
                activity?.SetStatus(ActivityStatusCode.Error, result.Error);
                break;
        }

        var state = row.State.ToString().ToLowerInvariant();
        activity?.SetTag("hubgate.state", state);
        HubgateTelemetry.DeliveriesFinished.Add(1, new TagList
        {
            { "app", delivery.App }, { "event", delivery.Event }, { "state", state }, { "subscription", Subscription },
        });
        HubgateTelemetry.ProcessingDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new TagList
        {
            { "app", delivery.App }, { "event", delivery.Event }, { "subscription", Subscription },
        });
        if (row.State == DeliveryState.Processed)
        {
            HubgateTelemetry.DeliveryLag.Record((now - delivery.ReceivedAt).TotalSeconds, new KeyValuePair<string, object?>("subscription", Subscription));
        }

        return new Outcome(delivery, row, retryIn, result.Outcome == AttemptOutcome.Gone);
    }

    /// <summary>What one attempt came to, recorded with the rest of its batch.</summary>
    private sealed record Outcome(WebhookDeliveryEntity Delivery, SubscriptionDeliveryEntity Row, TimeSpan? RetryIn, bool Gone);

    /// <summary>Records the batch's outcomes, logs each, and keeps the subscription's health (disabling it on 410 or long failure).</summary>
    private async Task FinishAsync(Subscription subscription, List<Outcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        var recorded = await _store.FinishAsync([.. outcomes.Select(o => o.Row)], Name, CancellationToken.None).ConfigureAwait(false);
        for (var i = 0; i < outcomes.Count; i++)
        {
            var (delivery, row) = (outcomes[i].Delivery, outcomes[i].Row);
            if (!recorded[i])
            {
                Log.LeaseLost(_logger, Subscription, delivery.DeliveryId, delivery.Event);
                continue;
            }

            switch (row.State)
            {
                case DeliveryState.Processed:
                    Log.Processed(_logger, Subscription, delivery.DeliveryId, delivery.Event, delivery.Action, row.Attempts);
                    break;
                case DeliveryState.Ignored:
                    Log.Ignored(_logger, Subscription, delivery.DeliveryId, delivery.Event, delivery.Action, row.IgnoredReason);
                    break;
                case DeliveryState.Dead:
                    Log.Dead(_logger, Subscription, delivery.DeliveryId, delivery.Event, row.Attempts, row.LastError ?? "");
                    break;
                default:
                    Log.Failed(_logger, Subscription, delivery.DeliveryId, delivery.Event, row.Attempts, outcomes[i].RetryIn ?? TimeSpan.Zero, row.LastError ?? "");
                    break;
            }
        }

        if (subscription.Kind == SubscriptionKind.Local)
        {
            return; // the built-in subscription's failures are its handlers', not a destination's: it is never disabled
        }

        if (outcomes.FirstOrDefault(o => o.Gone) is { } gone)
        {
            var reason = $"The destination answered 410 Gone to delivery {gone.Delivery.DeliveryId}.";
            await _catalog.SetStatusAsync(Subscription, SubscriptionStatus.Disabled, reason, CancellationToken.None).ConfigureAwait(false);
            HubgateTelemetry.SubscriptionsDisabled.Add(1, new KeyValuePair<string, object?>("subscription", Subscription));
            return;
        }

        var delivered = outcomes.Any(o => o.Row.State == DeliveryState.Processed);
        var failed = outcomes.Any(o => o.Row.State is DeliveryState.Failed or DeliveryState.Dead);
        var lastError = outcomes.LastOrDefault(o => o.Row.LastError is not null)?.Row.LastError;
        if (await _catalog.RecordHealthAsync(subscription, delivered, failed, lastError, CancellationToken.None).ConfigureAwait(false) is not null)
        {
            HubgateTelemetry.SubscriptionsDisabled.Add(1, new KeyValuePair<string, object?>("subscription", Subscription));
        }
    }

    /// <summary>The built-in subscription's retry delay: RetryDelay · 2^(attempt−1), capped at MaxRetryDelay, with ±20 % jitter.</summary>
    internal static TimeSpan RetryDelay(int attempt, WebhookOptions settings)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ticks = Math.Min(settings.RetryDelay.Ticks * Math.Pow(2, exponent), settings.MaxRetryDelay.Ticks);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromTicks((long)(ticks * jitter));
    }

    private static string? Truncate(string? text) => text is null || text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Information, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}.{Action}) processed on attempt {Attempt}")]
        public static partial void Processed(ILogger logger, string subscription, string deliveryId, string @event, string? action, int attempt);

        [LoggerMessage(EventId = 321, Level = LogLevel.Debug, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}.{Action}) kept as ignored: {Reason}")]
        public static partial void Ignored(ILogger logger, string subscription, string deliveryId, string @event, string? action, string? reason);

        [LoggerMessage(EventId = 322, Level = LogLevel.Warning, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}) failed on attempt {Attempt}; retrying in {Delay}: {Error}")]
        public static partial void Failed(ILogger logger, string subscription, string deliveryId, string @event, int attempt, TimeSpan delay, string error);

        [LoggerMessage(EventId = 323, Level = LogLevel.Error, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}) is dead after {Attempts} attempts: {Error}. Replay it (POST /api/deliveries/<id>/replay) once fixed.")]
        public static partial void Dead(ILogger logger, string subscription, string deliveryId, string @event, int attempts, string error);

        [LoggerMessage(EventId = 324, Level = LogLevel.Warning, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}): the lease ran out before it finished and another worker took it over; result discarded")]
        public static partial void LeaseLost(ILogger logger, string subscription, string deliveryId, string @event);

        [LoggerMessage(EventId = 325, Level = LogLevel.Information, Message = "[{Subscription}] Delivery {DeliveryId} ({Event}) handed back for the next start: shutting down")]
        public static partial void Released(ILogger logger, string subscription, string deliveryId, string @event);

        [LoggerMessage(EventId = 329, Level = LogLevel.Warning, Message = "[{Subscription}] The delivery worker could not renew its leases ({Exception}: {Reason}); trying again at the next heartbeat")]
        public static partial void HeartbeatFailed(ILogger logger, string subscription, string exception, string reason);
    }
}

/// <summary>
/// This host's name in every lease its workers take (<c>machine:pid:random</c>): rows held under another name at start
/// belong to a host that stopped (<see cref="DeliveryStore.ReclaimAfterRestartAsync"/>).
/// </summary>
internal sealed class WorkerIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
