using System.Diagnostics;
using System.Threading.Channels;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Hubgate.Webhooks.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Delivers one subscription's deliveries: claims its due rows with a lease (<see cref="DeliveryStore.ClaimAsync"/>),
/// makes one attempt each through the subscription kind's <see cref="IDeliveryDispatch"/> — the model and in-process
/// handlers for the built-in <c>local</c>, a signed POST for an HTTP subscription, a confirmed publish for a RabbitMQ
/// one — and records the outcomes in one transaction per batch (<see cref="RunOnceAsync"/>, the built-in subscription's
/// sequential attempts) or per group of whatever finished meanwhile (<see cref="PumpAsync"/>, the concurrent kinds). Leases are short (<c>Webhooks:LeaseDuration</c>) and renewed by a heartbeat while the
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

    /// <summary>How long the last sequential batch took per attempt (zero before the first).</summary>
    private TimeSpan _perAttempt;

    /// <summary>The first sequential claim, before the worker knows its pace.</summary>
    private const int FirstSequentialBatch = 16;

    /// <summary>How much work a sequential claim takes at the worker's recent pace.</summary>
    private static readonly TimeSpan SequentialBatchWork = TimeSpan.FromMilliseconds(100);

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
        var batchSize = _dispatch.Sequential ? SequentialBatchSize(settings.ClaimBatchSize) : Math.Min(Math.Max(settings.ClaimBatchSize, subscription.Options.Concurrency * 8), 1000);
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
                var started = _time.GetTimestamp();
                for (var i = 0; i < claimed.Count; i++)
                {
                    outcomes[i] = await AttemptAsync(subscription, claimed[i], deliveries, settings, cancellationToken).ConfigureAwait(false);
                }

                _perAttempt = _time.GetElapsedTime(started) / claimed.Count;
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

    /// <summary>
    /// How many due deliveries a sequential worker claims: what it gets through in about <see cref="SequentialBatchWork"/>
    /// at the pace of its last batch, at most <paramref name="most"/> (<c>Webhooks:ClaimBatchSize</c>), 16 before it
    /// knows its pace. Fast handlers get large batches, which spread each batch's fixed statements over many
    /// deliveries; slow ones (a GitHub call each) small ones, so that a replica does not hold work another could be doing.
    /// </summary>
    private int SequentialBatchSize(int most)
    {
        if (_perAttempt == TimeSpan.Zero)
        {
            return Math.Min(FirstSequentialBatch, most);
        }

        return (int)Math.Clamp(SequentialBatchWork.Ticks / Math.Max(_perAttempt.Ticks, 1), 1, most);
    }

    /// <summary>Whether this worker's attempts are made one after another (<see cref="RunOnceAsync"/> in a loop) rather than pipelined (<see cref="PumpAsync"/>).</summary>
    public bool Sequential => _dispatch.Sequential;

    /// <summary>
    /// Delivers a concurrent subscription as a pipeline until <paramref name="stop"/>, until the subscription is paused,
    /// disabled or removed, or until its <c>Concurrency</c> changes (the caller starts it again): up to
    /// <c>Concurrency</c> attempts in flight, each started as soon as a slot is free; claims of up to two rounds of what
    /// is due whenever there is room (rows held — claimed, not yet recorded — stay within <see cref="Pump.Limit"/>), so a delivery that arrives mid-batch is not kept
    /// waiting for the slowest attempt of the batch before it; and outcomes recorded by one recorder in groups of
    /// whatever finished meanwhile (one transaction each), while the heartbeat holds every lease. A crash before an
    /// outcome is recorded leaves its row leased: it is attempted again after the lease, as with <see cref="RunOnceAsync"/>.
    /// </summary>
    public async Task PumpAsync(WorkSignal work, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(work);
        var subscription = await _catalog.FindAsync(Subscription, stop).ConfigureAwait(false);
        if (subscription is not { IsActive: true })
        {
            return;
        }

        var pump = new Pump(subscription);
        var settings = _options.CurrentValue;
        using var heartbeat = new CancellationTokenSource();
        var beating = HeartbeatAsync(settings, heartbeat.Token);
        var recording = RecordAsync(pump, stop);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var wake = work.Current;
                var freed = pump.Freed.Current;
                if (pump.Halted)
                {
                    return;
                }

                await _fanOut.RunUnlessRunningAsync(stop).ConfigureAwait(false);
                subscription = await _catalog.FindAsync(Subscription, stop).ConfigureAwait(false);
                if (subscription is not { IsActive: true } || subscription.Options.Concurrency != pump.Concurrency)
                {
                    return;
                }

                pump.Subscription = subscription;
                var room = pump.Limit - Volatile.Read(ref pump.Outstanding);
                if (room < Math.Max(1, pump.Concurrency / 2))
                {
                    await freed.WaitAsync(stop).ConfigureAwait(false); // until the recorder lets go of some
                    continue;
                }

                settings = _options.CurrentValue;
                var now = _time.GetUtcNow();
                // At most two rounds a claim: what is claimed waits for a slot, and a row waits less in the database,
                // where a retry due or another replica can still take it.
                var claimed = await _store.ClaimAsync(Subscription, Name, Math.Min(room, pump.Concurrency * 2), subscription.IsOrdered, MaxAttempts(subscription, settings),
                    now, now + settings.LeaseDuration, stop).ConfigureAwait(false);
                if (claimed.Count == 0)
                {
                    // Nothing due: new deliveries, a resumed subscription or (ordered) a recorded outcome that lets the
                    // next delivery of its key go make something due; the poll interval catches retries coming due.
                    await WorkSignal.WaitAsync(subscription.IsOrdered ? Task.WhenAny(wake, freed) : wake, settings.PollInterval, _time, stop)
                        .ConfigureAwait(false);
                    continue;
                }

                Interlocked.Add(ref pump.Outstanding, claimed.Count);
                var deliveries = await _store.LoadAsync([.. claimed.Select(c => c.Seq)], CancellationToken.None).ConfigureAwait(false);
                foreach (var claim in claimed)
                {
                    await pump.Slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    _ = AttemptInPumpAsync(pump, subscription, claim, deliveries, settings, stop);
                }
            }
        }
        finally
        {
            // Every attempt under way finishes (or, when stopping, hands its delivery back) and is recorded before the leases go.
            for (var i = 0; i < pump.Concurrency; i++)
            {
                await pump.Slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            pump.Outcomes.Writer.Complete();
            try
            {
                await recording.ConfigureAwait(false);
            }
            finally
            {
                await heartbeat.CancelAsync().ConfigureAwait(false);
                await beating.ConfigureAwait(false);
                pump.Slots.Dispose();
            }
        }
    }

    /// <summary>One attempt in the pipeline: its outcome (or null) goes to the recorder, and its slot is freed.</summary>
    private async Task AttemptInPumpAsync(Pump pump, Subscription subscription, Claimed claim, Dictionary<long, WebhookDeliveryEntity> deliveries,
        WebhookOptions settings, CancellationToken stop)
    {
        Outcome? outcome = null;
        try
        {
            if (pump.Halted)
            {
                // The destination is gone or the subscription was disabled: hand the row back unattempted.
                await _store.ReleaseAsync(Subscription, claim.Seq, Name, _time.GetUtcNow()).ConfigureAwait(false);
                return;
            }

            outcome = await AttemptAsync(subscription, claim, deliveries, settings, stop).ConfigureAwait(false);
            if (outcome is { Gone: true })
            {
                pump.Halted = true; // no further attempt at a destination that answered 410 Gone
            }
        }
        catch (Exception e)
        {
            // Not an outcome: the row stays leased and is attempted again once the lease runs out.
            Log.AttemptFailed(_logger, Subscription, claim.Seq, e.GetType().Name, e.Message);
        }
        finally
        {
            pump.Outcomes.Writer.TryWrite(outcome);
            pump.Slots.Release();
        }
    }

    /// <summary>
    /// The pipeline's recorder: records whatever outcomes finished since the last group in one transaction (up to
    /// <see cref="MaxRecordGroup"/>), then frees their room for the next claim. A group that cannot be recorded is tried
    /// again every second while the heartbeat holds its leases; when stopping, it is left leased for the next start.
    /// </summary>
    private async Task RecordAsync(Pump pump, CancellationToken stop)
    {
        var reader = pump.Outcomes.Reader;
        var group = new List<Outcome>(MaxRecordGroup);
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            var taken = 0;
            while (group.Count < MaxRecordGroup && reader.TryRead(out var outcome))
            {
                taken++;
                if (outcome is not null)
                {
                    group.Add(outcome);
                }
            }

            while (true)
            {
                try
                {
                    if (await FinishAsync(pump.Subscription, group).ConfigureAwait(false))
                    {
                        pump.Halted = true;
                    }

                    break;
                }
                catch (Exception e)
                {
                    Log.RecordFailed(_logger, Subscription, group.Count, e.GetType().Name, e.Message);
                    if (stop.IsCancellationRequested)
                    {
                        break;
                    }

                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), _time, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }

            group.Clear();
            Interlocked.Add(ref pump.Outstanding, -taken);
            pump.Freed.Notify();
        }
    }

    /// <summary>Outcomes recorded in one transaction by the pipeline at most.</summary>
    private const int MaxRecordGroup = 256;

    /// <summary>One run of <see cref="PumpAsync"/>: its slots, its outcomes on their way to the recorder, what it holds.</summary>
    private sealed class Pump(Subscription subscription)
    {
        public int Concurrency { get; } = subscription.Options.Concurrency;

        /// <summary>
        /// Rows held at most (claimed, not yet recorded): eight rounds (at least 64, at most 1,000), so that the next
        /// rounds are claimed and attempted while earlier outcomes wait for their transaction — with two, a congested
        /// database stalled the claims behind the recording and a backlog of a second and more stayed (docs/benchmarks.md).
        /// </summary>
        public int Limit => Math.Clamp(Concurrency * 8, 64, 1000);

        public SemaphoreSlim Slots { get; } = new(subscription.Options.Concurrency, subscription.Options.Concurrency);

        public Channel<Outcome?> Outcomes { get; } = Channel.CreateUnbounded<Outcome?>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Given each time the recorder lets go of rows.</summary>
        public WorkSignal Freed { get; } = new();

        /// <summary>The subscription as last read (its health is kept on this).</summary>
        public Subscription Subscription { get; set; } = subscription;

        /// <summary>Rows claimed and not yet recorded.</summary>
        public int Outstanding;

        /// <summary>Set when the destination answered 410 Gone or the subscription was disabled: nothing more is attempted.</summary>
        public volatile bool Halted;
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

    /// <summary>
    /// Records the batch's outcomes, logs each, and keeps the subscription's health (disabling it on 410 or long
    /// failure). Returns whether the subscription was disabled.
    /// </summary>
    private async Task<bool> FinishAsync(Subscription subscription, List<Outcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return false;
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
            return false; // the built-in subscription's failures are its handlers', not a destination's: it is never disabled
        }

        try
        {
            return await KeepHealthAsync(subscription, outcomes).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The outcomes are recorded: recording them again would find their leases gone. Health is kept at the next.
            Log.HealthFailed(_logger, Subscription, e.GetType().Name, e.Message);
            return false;
        }
    }

    /// <summary>Disables the subscription on 410 Gone, or once it has failed every attempt for <c>DisableAfter</c>; returns whether it did.</summary>
    private async Task<bool> KeepHealthAsync(Subscription subscription, List<Outcome> outcomes)
    {
        if (outcomes.FirstOrDefault(o => o.Gone) is { } gone)
        {
            var reason = $"The destination answered 410 Gone to delivery {gone.Delivery.DeliveryId}.";
            await _catalog.SetStatusAsync(Subscription, SubscriptionStatus.Disabled, reason, CancellationToken.None).ConfigureAwait(false);
            HubgateTelemetry.SubscriptionsDisabled.Add(1, new KeyValuePair<string, object?>("subscription", Subscription));
            return true;
        }

        var delivered = outcomes.Any(o => o.Row.State == DeliveryState.Processed);
        var failed = outcomes.Any(o => o.Row.State is DeliveryState.Failed or DeliveryState.Dead);
        var lastError = outcomes.LastOrDefault(o => o.Row.LastError is not null)?.Row.LastError;
        if (await _catalog.RecordHealthAsync(subscription, delivered, failed, lastError, CancellationToken.None).ConfigureAwait(false) is null)
        {
            return false;
        }

        HubgateTelemetry.SubscriptionsDisabled.Add(1, new KeyValuePair<string, object?>("subscription", Subscription));
        return true;
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

        [LoggerMessage(EventId = 336, Level = LogLevel.Error, Message = "[{Subscription}] The attempt at delivery #{Sequence} failed unexpectedly ({Exception}: {Reason}); it is attempted again when its lease runs out")]
        public static partial void AttemptFailed(ILogger logger, string subscription, long sequence, string exception, string reason);

        [LoggerMessage(EventId = 337, Level = LogLevel.Error, Message = "[{Subscription}] {Count} outcomes could not be recorded ({Exception}: {Reason}); trying again in a second while their leases hold")]
        public static partial void RecordFailed(ILogger logger, string subscription, int count, string exception, string reason);

        [LoggerMessage(EventId = 338, Level = LogLevel.Warning, Message = "[{Subscription}] Outcomes were recorded but the subscription's health could not be ({Exception}: {Reason}); it is kept at the next outcomes")]
        public static partial void HealthFailed(ILogger logger, string subscription, string exception, string reason);

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
