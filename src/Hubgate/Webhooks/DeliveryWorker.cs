using System.Diagnostics;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>
/// Processes stored deliveries in the background, in order of receipt: claims due ones with a lease (a conditional
/// UPDATE, so several replicas on one database never process the same delivery at once), runs their handlers, and
/// moves them <c>pending → processing → processed | ignored | failed → dead</c>. Leases are short
/// (<c>Webhooks:LeaseDuration</c>) and renewed by a heartbeat while the batch's handlers run, so a delivery whose worker
/// died is claimed again by another replica within a lease (or at the next start on SQLite, where only one host uses
/// the file); how long handlers may run is <c>Webhooks:HandlerTimeout</c>, apart from the lease.
/// </summary>
internal sealed partial class DeliveryWorker(
    IDbContextFactory<HubgateDbContext> databases,
    WebhookDispatcher dispatcher,
    DeliverySignal signal,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<DeliveryWorker> logger) : BackgroundService
{
    private const int MaxErrorLength = 4000;

    /// <summary>How many times a delivery's handlers run within one attempt when they lose an insert race.</summary>
    private const int MaxRunsOnInsertRace = 3;

    /// <summary>This worker's name in <see cref="WebhookDeliveryEntity.LeaseOwner"/>.</summary>
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// Runs the loop on a thread of its own (<see cref="DedicatedThread"/>). Steps that are truly asynchronous (a handler
    /// calling GitHub) still complete on the pool while that thread waits.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        DedicatedThread.Start("Hubgate delivery worker", () => Loop(stoppingToken));

    private void Loop(CancellationToken stoppingToken)
    {
        var errorDelay = TimeSpan.FromSeconds(1);
        var started = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!started)
                {
                    ReclaimAfterRestartAsync(stoppingToken).GetAwaiter().GetResult();
                    started = true;
                }

                var worked = RunOnceAsync(stoppingToken).GetAwaiter().GetResult();
                errorDelay = TimeSpan.FromSeconds(1);
                if (worked == 0)
                {
                    signal.WaitAsync(options.CurrentValue.PollInterval, time, stoppingToken).GetAwaiter().GetResult();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.LoopFailed(logger, e.GetType().Name, e.Message, errorDelay);
                try
                {
                    Task.Delay(errorDelay, time, stoppingToken).GetAwaiter().GetResult();
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                errorDelay = TimeSpan.FromTicks(Math.Min(errorDelay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// Claims and processes one batch of due deliveries, then records every outcome in one transaction (one commit for
    /// the batch instead of one per delivery). A crash before that commit leaves the batch leased: it is processed again
    /// after the lease, which handlers, being idempotent, allow. Returns how many were processed.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        var claimed = await ClaimAsync(settings, cancellationToken).ConfigureAwait(false);
        if (claimed.Count == 0)
        {
            return 0;
        }

        var outcomes = new List<Outcome>(claimed.Count);
        var done = 0;
        using var heartbeat = new CancellationTokenSource();
        var beating = HeartbeatAsync(settings, heartbeat.Token);
        try
        {
            foreach (var id in claimed)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    await ReleaseAsync(id).ConfigureAwait(false);
                    continue;
                }

                var outcome = await ProcessAsync(id, settings, cancellationToken).ConfigureAwait(false);
                if (outcome is not null)
                {
                    outcomes.Add(outcome);
                }

                done++;
            }
        }
        finally
        {
            // Outcomes are recorded while the heartbeat still holds their leases.
            try
            {
                await FinishAsync(outcomes).ConfigureAwait(false);
            }
            finally
            {
                await heartbeat.CancelAsync().ConfigureAwait(false);
                await beating.ConfigureAwait(false);
            }
        }

        return done;
    }

    /// <summary>
    /// Until <paramref name="stop"/>: every <see cref="WebhookOptions.EffectiveHeartbeatInterval"/>, extends the lease of
    /// everything this worker holds (the rest of the batch, and finished deliveries whose outcomes are not recorded yet)
    /// in one statement. A failed beat is logged and tried again at the next; if beats keep failing the leases run out and
    /// another worker takes over, and this one's outcomes are then not recorded (the <c>LeaseOwner</c> guard).
    /// </summary>
    private async Task HeartbeatAsync(WebhookOptions settings, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(settings.EffectiveHeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    var leaseUntil = time.GetUtcNow() + settings.LeaseDuration;
                    var db = await databases.CreateDbContextAsync(stop).ConfigureAwait(false);
                    await using (db.ConfigureAwait(false))
                    {
                        await RenewLeases(db, Name, leaseUntil, stop).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    Log.HeartbeatFailed(logger, e.GetType().Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>The heartbeat's statement: one UPDATE for every lease this worker holds.</summary>
    private static Task<int> RenewLeases(HubgateDbContext db, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken) =>
        db.WebhookDeliveries
            .Where(d => d.LeaseOwner == owner && d.State == DeliveryState.Processing)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, leaseUntil), cancellationToken);

    private async Task<List<long>> ClaimAsync(WebhookOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var batchSize = settings.ClaimBatchSize;
        if (!db.IsPostgres)
        {
            var due = await DueAsync(db, now, batchSize, cancellationToken).ConfigureAwait(false);
            return await ClaimAsync(db, due, now, settings, cancellationToken).ConfigureAwait(false);
        }

        // PostgreSQL, several replicas: the due rows are locked as they are read and rows another worker is claiming
        // right now are skipped, so replicas take different batches instead of racing for the same one. The
        // conditional UPDATE is what makes a claim exclusive either way.
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var due = await LockDueAsync(db, now, batchSize, cancellationToken).ConfigureAwait(false);
            var claimed = await ClaimAsync(db, due, now, settings, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return claimed;
        }
    }

    private async Task<List<long>> ClaimAsync(HubgateDbContext db, List<DueRow> due, DateTimeOffset now,
        WebhookOptions settings, CancellationToken cancellationToken)
    {
        var maxAttempts = settings.MaxAttempts;
        // A delivery whose worker vanished on its last allowed attempt is not tried again: it may be what kills workers.
        var orphaned = due.Where(d => d.State == DeliveryState.Processing && d.Attempts >= maxAttempts).Select(d => d.Id).ToList();
        if (orphaned.Count > 0)
        {
            await db.WebhookDeliveries
                .Where(d => orphaned.Contains(d.Id) && d.State == DeliveryState.Processing && d.LeaseExpiresAt < now)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.State, DeliveryState.Dead)
                    .SetProperty(d => d.LeaseOwner, (string?)null)
                    .SetProperty(d => d.LeaseExpiresAt, (DateTimeOffset?)null)
                    .SetProperty(d => d.LastError, "The worker processing its last attempt stopped (crash or lease expiry) before finishing."),
                    cancellationToken).ConfigureAwait(false);
        }

        var candidates = due.Select(d => d.Id).Except(orphaned).ToList();
        var leaseUntil = now + settings.LeaseDuration;
        if (candidates.Count == 0)
        {
            return candidates;
        }

        // One conditional UPDATE claims the batch: a row another worker claimed meanwhile no longer matches. This
        // worker finishes or releases every claim before the next, so what it holds now is exactly this batch.
        await Due(db.WebhookDeliveries.Where(d => candidates.Contains(d.Id)), now)
            .ExecuteUpdateAsync(s => s
                .SetProperty(d => d.State, DeliveryState.Processing)
                .SetProperty(d => d.LeaseOwner, Name)
                .SetProperty(d => d.LeaseExpiresAt, leaseUntil)
                .SetProperty(d => d.Attempts, d => d.Attempts + 1),
                cancellationToken).ConfigureAwait(false);

        var mine = await db.WebhookDeliveries
            .Where(d => d.LeaseOwner == Name && d.State == DeliveryState.Processing)
            .OrderBy(d => d.Id)
            .Select(d => d.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return mine;
    }

    /// <summary>A due delivery; <paramref name="Attempts"/> counts since its last replay.</summary>
    private sealed record DueRow(long Id, DeliveryState State, int Attempts);

    /// <summary>
    /// The <paramref name="batchSize"/> oldest due deliveries. Each kind is read in the order of the
    /// <c>(State, NextAttemptAt, Id)</c> index and stops after <paramref name="batchSize"/> rows — pending ones in order
    /// of receipt (a pending delivery is due from when it arrived, or was replayed or handed back), failed ones in order
    /// of their retry time, processing ones whose lease ran out — so a claim costs the same with a backlog of ten or of a
    /// million. (One query with an <c>OR</c> across the kinds, ordered by sequence, read and sorted the whole backlog
    /// at every claim.)
    /// </summary>
    private static async Task<List<DueRow>> DueAsync(HubgateDbContext db, DateTimeOffset now, int batchSize, CancellationToken cancellationToken)
    {
        async Task<List<DueRow>> Read(IAsyncEnumerable<DueRow> query)
        {
            var rows = new List<DueRow>();
            await foreach (var row in query.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(row);
            }

            return rows;
        }

        return Oldest(
        [
            await Read(DueAtRetryTime(db, DeliveryState.Pending, now, batchSize)).ConfigureAwait(false),
            await Read(DueAtRetryTime(db, DeliveryState.Failed, now, batchSize)).ConfigureAwait(false),
            await Read(LeaseExpired(db, now, batchSize)).ConfigureAwait(false),
        ], batchSize);
    }

    /// <summary>Pending or failed deliveries of <c>state</c> due by now, in order of due time (compiled once: it runs at every claim).</summary>
    private static readonly Func<HubgateDbContext, DeliveryState, DateTimeOffset, int, IAsyncEnumerable<DueRow>> DueAtRetryTime =
        EF.CompileAsyncQuery((HubgateDbContext db, DeliveryState state, DateTimeOffset now, int batchSize) => db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.State == state && d.NextAttemptAt <= now)
            .OrderBy(d => d.NextAttemptAt).ThenBy(d => d.Id).Take(batchSize)
            .Select(d => new DueRow(d.Id, d.State, d.Attempts - d.AttemptsAtReplay)));

    /// <summary>Deliveries whose worker's lease ran out, oldest first (compiled once).</summary>
    private static readonly Func<HubgateDbContext, DateTimeOffset, int, IAsyncEnumerable<DueRow>> LeaseExpired =
        EF.CompileAsyncQuery((HubgateDbContext db, DateTimeOffset now, int batchSize) => db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.State == DeliveryState.Processing && d.LeaseExpiresAt < now)
            .OrderBy(d => d.Id).Take(batchSize)
            .Select(d => new DueRow(d.Id, d.State, d.Attempts - d.AttemptsAtReplay)));

    /// <summary>
    /// PostgreSQL, inside the claim's transaction: the same three reads as <see cref="DueAsync"/>, each
    /// <c>FOR UPDATE SKIP LOCKED</c> so a replica passes over the rows another is claiming right now and takes the next.
    /// </summary>
    private static async Task<List<DueRow>> LockDueAsync(HubgateDbContext db, DateTimeOffset now, int batchSize, CancellationToken cancellationToken)
    {
        async Task<List<DueRow>> Read(IQueryable<LockedRow> query) =>
            [.. (await query.ToListAsync(cancellationToken).ConfigureAwait(false)).Select(r => new DueRow(r.Id, Enum.Parse<DeliveryState>(r.State), r.Attempts))];

        IQueryable<LockedRow> AtRetryTime(DeliveryState state) => db.Database.SqlQuery<LockedRow>($"""
            SELECT "Id", "State", "Attempts" - "AttemptsAtReplay" AS "Attempts" FROM webhook_deliveries
            WHERE "State" = {state.ToString()} AND "NextAttemptAt" <= {now} ORDER BY "NextAttemptAt", "Id" LIMIT {batchSize} FOR UPDATE SKIP LOCKED
            """);

        string processing = nameof(DeliveryState.Processing);
        return Oldest(
        [
            await Read(AtRetryTime(DeliveryState.Pending)).ConfigureAwait(false),
            await Read(AtRetryTime(DeliveryState.Failed)).ConfigureAwait(false),
            await Read(db.Database.SqlQuery<LockedRow>($"""
                SELECT "Id", "State", "Attempts" - "AttemptsAtReplay" AS "Attempts" FROM webhook_deliveries
                WHERE "State" = {processing} AND "LeaseExpiresAt" < {now} ORDER BY "Id" LIMIT {batchSize} FOR UPDATE SKIP LOCKED
                """)).ConfigureAwait(false),
        ], batchSize);
    }

    /// <summary>The <paramref name="batchSize"/> lowest sequence numbers among the kinds read.</summary>
    private static List<DueRow> Oldest(IEnumerable<List<DueRow>> kinds, int batchSize) =>
        [.. kinds.SelectMany(k => k).OrderBy(d => d.Id).Take(batchSize)];

    private sealed class LockedRow
    {
        public long Id { get; set; }

        public string State { get; set; } = "";

        public int Attempts { get; set; }
    }

    /// <summary>
    /// Still due, checked on rows already found by key. Written as a <c>CASE</c> on purpose: SQLite does not know how
    /// many rows each state holds, and given an <c>OR</c> of indexable terms it chose to walk the state index over the
    /// whole backlog rather than look the batch up by sequence number.
    /// </summary>
    private static IQueryable<WebhookDeliveryEntity> Due(IQueryable<WebhookDeliveryEntity> deliveries, DateTimeOffset now) =>
        deliveries.Where(d => d.State == DeliveryState.Processing
            ? d.LeaseExpiresAt < now
            : (d.State == DeliveryState.Pending || d.State == DeliveryState.Failed) && d.NextAttemptAt <= now);

    /// <summary>
    /// A delivery this worker holds, body included, or null. Compiled once: run per delivery, EF Core's work on the
    /// query's expression tree cost more than the query itself.
    /// </summary>
    private static readonly Func<HubgateDbContext, long, string, CancellationToken, Task<WebhookDeliveryEntity?>> ClaimedDelivery =
        EF.CompileAsyncQuery((HubgateDbContext db, long id, string owner, CancellationToken cancellationToken) =>
            db.WebhookDeliveries.AsNoTracking().SingleOrDefault(d => d.Id == id && d.LeaseOwner == owner && d.State == DeliveryState.Processing));

    /// <summary>Runs one claimed delivery's handlers; the outcome to record (null when it was handed back or is no longer ours).</summary>
    private async Task<Outcome?> ProcessAsync(long id, WebhookOptions settings, CancellationToken stoppingToken)
    {
        WebhookDeliveryEntity? delivery;
        var db = await databases.CreateDbContextAsync(stoppingToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            // If it is no longer ours, another worker took it over when the lease ran out.
            delivery = await ClaimedDelivery(db, id, Name, stoppingToken).ConfigureAwait(false);
        }

        if (delivery is null)
        {
            return null;
        }

        using var timeout = new CancellationTokenSource(settings.HandlerTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        using var activity = HubgateTelemetry.Source.StartActivity("webhook.process");
        activity?.SetTag("github.event", delivery.Event);
        activity?.SetTag("github.delivery", delivery.DeliveryId);
        activity?.SetTag("hubgate.attempt", delivery.Attempts);
        var started = Stopwatch.GetTimestamp();
        void Finished(DeliveryState state)
        {
            var tags = new TagList { { "app", delivery.App }, { "event", delivery.Event }, { "state", state.ToString().ToLowerInvariant() } };
            HubgateTelemetry.DeliveriesFinished.Add(1, tags);
            HubgateTelemetry.ProcessingDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("app", delivery.App), new KeyValuePair<string, object?>("event", delivery.Event));
            activity?.SetTag("hubgate.state", tags[2].Value);
        }

        DispatchResult result;
        try
        {
            for (var run = 1; ; run++)
            {
                try
                {
                    result = await dispatcher.DispatchAsync(delivery, delivery.Attempts, linked.Token).ConfigureAwait(false);
                    break;
                }
                catch (WebhookHandlerException e) when (run < MaxRunsOnInsertRace && DatabaseErrors.IsUniqueViolation(e))
                {
                    // Another worker inserted the same row (a repository seen for the first time by two deliveries at
                    // once, say). Handlers are idempotent: running them again now finds the row, within this attempt.
                    Log.InsertRace(logger, delivery.DeliveryId, delivery.Event, e.Handler);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: hand the delivery back untouched for the next start (or another replica).
            Log.Released(logger, delivery.DeliveryId, delivery.Event);
            await ReleaseAsync(id).ConfigureAwait(false);
            return null;
        }
        catch (Exception e)
        {
            var error = timeout.IsCancellationRequested && e is OperationCanceledException
                ? $"The handlers did not finish within Webhooks:HandlerTimeout ({settings.HandlerTimeout}) and were cancelled."
                : Describe(e);
            var failedAt = time.GetUtcNow();
            var sinceReplay = delivery.Attempts - delivery.AttemptsAtReplay;
            var dead = sinceReplay >= settings.MaxAttempts;
            var delay = RetryDelay(sinceReplay, settings);
            Finished(dead ? DeliveryState.Dead : DeliveryState.Failed);
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            return new Outcome(delivery, dead ? DeliveryState.Dead : DeliveryState.Failed, dead ? failedAt : failedAt + delay, null, error, null, delay);
        }

        var state = result.Outcome == DispatchOutcome.Processed ? DeliveryState.Processed : DeliveryState.Ignored;
        Finished(state);
        return new Outcome(delivery, state, delivery.NextAttemptAt, time.GetUtcNow(), null, result.Reason, TimeSpan.Zero);
    }

    /// <summary>What one delivery came to, recorded with the rest of its batch.</summary>
    private sealed record Outcome(WebhookDeliveryEntity Delivery, DeliveryState State, DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt,
        string? Error, string? IgnoredReason, TimeSpan RetryIn);

    /// <summary>Records the batch's outcomes and gives up their leases in one transaction, then logs each.</summary>
    private async Task FinishAsync(List<Outcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        // Each row carries its outcome; the statement writes it where this worker still holds the lease.
        var rows = new WebhookDeliveryEntity[outcomes.Count];
        for (var i = 0; i < outcomes.Count; i++)
        {
            var (o, row) = (outcomes[i], outcomes[i].Delivery);
            (row.State, row.NextAttemptAt, row.ProcessedAt, row.LastError, row.IgnoredReason) = (o.State, o.NextAttemptAt, o.ProcessedAt, o.Error, o.IgnoredReason);
            rows[i] = row;
        }

        bool[] recorded;
        var db = await databases.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                recorded = await DeliveryFinish.RecordAsync(db, rows, Name, CancellationToken.None).ConfigureAwait(false);
                await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < outcomes.Count; i++)
        {
            var (delivery, state) = (outcomes[i].Delivery, outcomes[i].State);
            if (!recorded[i])
            {
                Log.LeaseLost(logger, delivery.DeliveryId, delivery.Event);
                continue;
            }

            switch (state)
            {
                case DeliveryState.Processed:
                    Log.Processed(logger, delivery.DeliveryId, delivery.Event, delivery.Action, delivery.Attempts);
                    break;
                case DeliveryState.Ignored:
                    Log.Ignored(logger, delivery.DeliveryId, delivery.Event, delivery.Action, outcomes[i].IgnoredReason);
                    break;
                case DeliveryState.Dead:
                    Log.Dead(logger, delivery.DeliveryId, delivery.Event, delivery.Attempts, outcomes[i].Error!);
                    break;
                default:
                    Log.Failed(logger, delivery.DeliveryId, delivery.Event, delivery.Attempts, outcomes[i].RetryIn, outcomes[i].Error!);
                    break;
            }
        }
    }

    private async Task ReleaseAsync(long id)
    {
        var db = await databases.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var now = time.GetUtcNow();
        await db.WebhookDeliveries
            .Where(d => d.Id == id && d.LeaseOwner == Name && d.State == DeliveryState.Processing)
            .ExecuteUpdateAsync(s => s
                .SetProperty(d => d.State, DeliveryState.Pending)
                .SetProperty(d => d.NextAttemptAt, now)
                .SetProperty(d => d.LeaseOwner, (string?)null)
                .SetProperty(d => d.LeaseExpiresAt, (DateTimeOffset?)null)
                .SetProperty(d => d.Attempts, d => d.Attempts - 1))
            .ConfigureAwait(false);
    }

    /// <summary>
    /// On SQLite one host owns the file, so deliveries still marked processing at start-up belong to a process that
    /// died: they are due now rather than when their lease would have run out.
    /// </summary>
    private async Task ReclaimAfterRestartAsync(CancellationToken cancellationToken)
    {
        var db = await databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        if (db.IsPostgres)
        {
            return;
        }

        var now = time.GetUtcNow();
        var rows = await db.WebhookDeliveries
            .Where(d => d.State == DeliveryState.Processing && d.LeaseOwner != Name)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeaseExpiresAt, now.AddSeconds(-1)), cancellationToken)
            .ConfigureAwait(false);
        if (rows > 0)
        {
            Log.Reclaimed(logger, rows);
        }
    }

    /// <summary>RetryDelay · 2^(attempt−1), capped at MaxRetryDelay, with ±20 % jitter so retries do not bunch up.</summary>
    internal static TimeSpan RetryDelay(int attempt, WebhookOptions settings)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ticks = Math.Min(settings.RetryDelay.Ticks * Math.Pow(2, exponent), settings.MaxRetryDelay.Ticks);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromTicks((long)(ticks * jitter));
    }

    private static string Describe(Exception e)
    {
        var text = e is WebhookHandlerException handler ? handler.Message + "\n" + handler.InnerException : e.ToString();
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Information, Message = "Delivery {DeliveryId} ({Event}.{Action}) processed on attempt {Attempt}")]
        public static partial void Processed(ILogger logger, string deliveryId, string @event, string? action, int attempt);

        [LoggerMessage(EventId = 321, Level = LogLevel.Debug, Message = "Delivery {DeliveryId} ({Event}.{Action}) kept as ignored: {Reason}")]
        public static partial void Ignored(ILogger logger, string deliveryId, string @event, string? action, string? reason);

        [LoggerMessage(EventId = 322, Level = LogLevel.Warning, Message = "Delivery {DeliveryId} ({Event}) failed on attempt {Attempt}; retrying in {Delay}: {Error}")]
        public static partial void Failed(ILogger logger, string deliveryId, string @event, int attempt, TimeSpan delay, string error);

        [LoggerMessage(EventId = 323, Level = LogLevel.Error, Message = "Delivery {DeliveryId} ({Event}) is dead after {Attempts} attempts: {Error}. Replay it (POST /api/deliveries/<id>/replay) once fixed.")]
        public static partial void Dead(ILogger logger, string deliveryId, string @event, int attempts, string error);

        [LoggerMessage(EventId = 324, Level = LogLevel.Warning, Message = "Delivery {DeliveryId} ({Event}): the lease ran out before it finished and another worker took it over; result discarded")]
        public static partial void LeaseLost(ILogger logger, string deliveryId, string @event);

        [LoggerMessage(EventId = 325, Level = LogLevel.Information, Message = "Delivery {DeliveryId} ({Event}) handed back for the next start: shutting down")]
        public static partial void Released(ILogger logger, string deliveryId, string @event);

        [LoggerMessage(EventId = 326, Level = LogLevel.Warning, Message = "{Count} deliveries were mid-processing when the previous process stopped: processing them again")]
        public static partial void Reclaimed(ILogger logger, int count);

        [LoggerMessage(EventId = 328, Level = LogLevel.Debug, Message = "Delivery {DeliveryId} ({Event}): handler {Handler} lost an insert race with another worker; running the handlers again")]
        public static partial void InsertRace(ILogger logger, string deliveryId, string @event, string handler);

        [LoggerMessage(EventId = 329, Level = LogLevel.Warning, Message = "The delivery worker could not renew its leases ({Exception}: {Reason}); trying again at the next heartbeat")]
        public static partial void HeartbeatFailed(ILogger logger, string exception, string reason);

        [LoggerMessage(EventId = 327, Level = LogLevel.Error, Message = "The delivery worker failed ({Exception}: {Reason}); trying again in {Delay}")]
        public static partial void LoopFailed(ILogger logger, string exception, string reason, TimeSpan delay);
    }
}
