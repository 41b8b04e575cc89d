using System.Threading.Channels;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Store.Log;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>What storing a delivery came to.</summary>
internal enum InboxOutcome
{
    /// <summary>Committed; the worker will process it.</summary>
    Stored,
    /// <summary>A delivery with this id is already stored (and not failed or dead): nothing was written.</summary>
    Duplicate,
    /// <summary>
    /// A delivery with this id is stored and had failed or died: GitHub redelivered it, so it is queued again with a full
    /// set of retries (the transition of <see cref="WebhookInbox.ReplayAsync"/>).
    /// </summary>
    Requeued,
}

/// <summary>The database could not commit a delivery (unreachable, locked, full). Ingest answers 503.</summary>
public sealed class DeliveryStoreException(string message, Exception inner) : HubgateStorageException(message, inner);

/// <summary>
/// The durable inbox. Every accepted delivery is committed before the endpoint answers. Concurrent deliveries are
/// grouped by one writer into a single transaction (one fsync for many), which is what lets durable ingest on
/// SQLite keep up with receivers that store nothing. Duplicates are caught by delivery id within a batch, against
/// the table, and — when another replica wins a race — by the unique index, per App (GitHub documents the delivery id as
/// unique per App: the same id sent to two Apps is two deliveries). The writer is a thread of its own
/// (<see cref="DedicatedThread"/>): a batch's database calls block.
/// </summary>
internal sealed partial class WebhookInbox : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IDbContextFactory<HubgateDbContext> _databases;
    private readonly DeliveryStore _store;
    private readonly IOptionsMonitor<WebhookOptions> _options;
    private readonly DeliverySignal _signal;
    private readonly WorkSignal _work;
    private readonly TimeProvider _time;
    private readonly ILogger<WebhookInbox> _logger;
    private readonly ManualResetEventSlim _wake = new();

    /// <summary>Whether bodies are stored compressed (<see cref="BodyCodec"/>, SQLite), done here on the caller's thread.</summary>
    private readonly bool _compressBodies;

    /// <summary>
    /// Whether what is stored is kept for this process's workers (<see cref="DeliveryStore.Recent"/>): not on an
    /// ingest-only replica (<c>Webhooks:RunWorker</c> false, read once at start as the scheduler does), which would hold
    /// its memory for nothing.
    /// </summary>
    private readonly bool _keepRecent;

    /// <summary>SQLite's delivery log, when on: the body's durable copy, appended before the row is written.</summary>
    private readonly DeliveryLog _log;

    /// <summary>The log opened and what it holds beyond the index indexed again (once; tried again after a failure).</summary>
    private Task? _logReady;

    /// <summary>
    /// Another process appends to the log (a second service on the same SQLite file): this one stores bodies in the
    /// database, as with the log off, and leaves the log to its owner.
    /// </summary>
    private volatile bool _logHeldElsewhere;
    private readonly Lock _readyLock = new();
    private readonly Task _writer;

    public WebhookInbox(IDbContextFactory<HubgateDbContext> databases, DeliveryStore store, DeliveryLog log, IOptions<DatabaseOptions> database,
        IOptionsMonitor<WebhookOptions> options, DeliverySignal signal, WorkSignal work, TimeProvider time, ILogger<WebhookInbox> logger)
    {
        ArgumentNullException.ThrowIfNull(database);
        _databases = databases;
        _store = store;
        _log = log;
        _compressBodies = database.Value.Provider == DatabaseProvider.Sqlite;
        _options = options;
        _keepRecent = options.CurrentValue.RunWorker;
        _signal = signal;
        _work = work;
        _time = time;
        _logger = logger;
        _writer = DedicatedThread.Start("Hubgate inbox writer", WriteLoop);
    }

    /// <summary>
    /// Commits <paramref name="delivery"/> as a delivery to the App named <paramref name="app"/> (or finds it already
    /// stored: delivery ids are unique per App). Throws <see cref="DeliveryStoreException"/>.
    /// </summary>
    public Task<InboxOutcome> StoreAsync(string app, WebhookDeliveryEntity delivery, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(app);
        ArgumentNullException.ThrowIfNull(delivery);
        delivery.App = app;
        // Encoded (the log's record, or compressed for SQLite without the log) on the request's thread, in parallel,
        // rather than on the one writer's.
        var logged = _log.IsEnabled && !_logHeldElsewhere && delivery.Body.Length >= _options.CurrentValue.LogBodiesFrom;
        var pending = new Pending(delivery,
            logged ? LoggedDelivery.Encode(delivery) : _compressBodies ? BodyCodec.Encode(delivery.Body) : delivery.Body, logged);
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(WebhookInbox), "The inbox is shutting down.");
        }

        _wake.Set();
        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Puts a stored delivery back in the queue of <paramref name="subscription"/> (every subscription it was handed to
    /// when null), from any state but processing: due now, with a full set of retries (the count of attempts goes on).
    /// Returns false when the App has no such delivery, no such subscription row, or it is being attempted right now.
    /// </summary>
    public async Task<bool> ReplayAsync(string app, string deliveryId, string? subscription = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(app);
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var requeued = await _store.RequeueAsync(app, deliveryId, subscription, DeliveryStore.AnyButProcessing, _time.GetUtcNow(), cancellationToken)
            .ConfigureAwait(false);
        if (requeued is null)
        {
            return false;
        }

        Log.Replayed(_logger, app, deliveryId);
        _work.Notify();
        return true;
    }

    /// <summary>
    /// Stored deliveries, newest first, optionally of one App, state (of the built-in subscription) and event, below
    /// sequence <paramref name="before"/>.
    /// </summary>
    public async Task<List<DeliverySummary>> ListAsync(string? app, DeliveryState? state, string? @event, long? before, int limit,
        CancellationToken cancellationToken = default)
    {
        var db = await _databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var query = DeliverySummary.Query(db);
        if (!string.IsNullOrEmpty(app))
        {
            query = query.Where(d => d.App == app);
        }

        if (state is { } s)
        {
            query = query.Where(d => d.State == s);
        }

        if (!string.IsNullOrEmpty(@event))
        {
            query = query.Where(d => d.Event == @event);
        }

        if (before is { } cursor)
        {
            query = query.Where(d => d.Sequence < cursor);
        }

        return await query.OrderByDescending(d => d.Sequence).Take(Math.Max(1, limit)).ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _wake.Set();
        await _writer.ConfigureAwait(false);
        _wake.Dispose();
    }

    /// <summary>
    /// Completes once the delivery log is open and what it holds beyond the index is indexed again (at once without the
    /// log). Started at start-up (<see cref="DeliveryLogStartup"/>), else by the first batch, which waits for it.
    /// </summary>
    public Task ReadyAsync()
    {
        if (!_log.IsEnabled)
        {
            return Task.CompletedTask;
        }

        lock (_readyLock)
        {
            return _logReady ??= Task.Run(RecoverFromLogAsync);
        }
    }

    private void WriteLoop()
    {
        var batch = new List<Pending>();
        while (true)
        {
            // Reset before reading: a delivery queued after this point sets the event again, so none waits unseen.
            _wake.Reset();
            var max = _options.CurrentValue.MaxBatchSize;
            while (batch.Count < max && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            if (batch.Count == 0)
            {
                if (_queue.Reader.Completion.IsCompleted)
                {
                    return;
                }

                _wake.Wait();
                continue;
            }

            try
            {
                // On this thread, not the pool: the calls complete synchronously on SQLite; on PostgreSQL this thread
                // waits while Npgsql's I/O completes.
                WriteBatchAsync(batch).GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                Log.StoreFailed(_logger, batch.Count, e.GetType().Name, e.Message);
                var failure = new DeliveryStoreException("The delivery could not be stored: the database did not accept it.", e);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(failure);
                }
            }

            batch.Clear();
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch)
    {
        LogPosition?[]? positions = null;
        if (_log.IsEnabled)
        {
            await ReadyOrTryAgainAsync().ConfigureAwait(false);
        }

        if (batch.Any(p => p.Logged))
        {
            if (_log.IsOpen)
            {
                // Durable in the log first (one sync for them): their rows need no sync of their own, and a row lost to a
                // crash is indexed again from its record.
                var logged = batch.Where(p => p.Logged).ToList();
                var appended = await _log.AppendAsync(logged.Select(p => p.StoredBody).ToList()).ConfigureAwait(false);
                positions = new LogPosition?[batch.Count];
                for (int i = 0, j = 0; i < batch.Count; i++)
                {
                    positions[i] = batch[i].Logged ? appended[j++] : null;
                }
            }
            else
            {
                // Encoded for the log before this process found it held by another: stored in the database instead.
                foreach (var pending in batch.Where(p => p.Logged))
                {
                    pending.StoreInDatabase(_compressBodies ? BodyCodec.Encode(pending.Delivery.Body) : pending.Delivery.Body);
                }
            }
        }

        var since = _time.GetUtcNow() - _options.CurrentValue.ReplayWindow;
        var db = await _databases.CreateDbContextAsync().ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var results = await DeliveryInsert.InsertAsync(_store, db, batch.Select(p => p.Delivery).ToList(), batch.Select(p => p.StoredBody).ToList(), since,
            positions, CancellationToken.None).ConfigureAwait(false);

        var stored = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var (pending, result) = (batch[i], results[i]);
            if (result.Requeued)
            {
                Log.Redelivered(_logger, pending.Delivery.App, pending.Delivery.DeliveryId, pending.Delivery.Event);
                pending.Completion.TrySetResult(InboxOutcome.Requeued);
                stored++;
                continue;
            }

            if (!result.Stored)
            {
                pending.Completion.TrySetResult(InboxOutcome.Duplicate);
                continue;
            }

            pending.Delivery.Id = result.Id;
            pending.Delivery.PossibleReplayOf = result.PossibleReplayOf;
            if (_keepRecent)
            {
                _store.Recent.Add(pending.Delivery);
            }

            if (result.PossibleReplayOf is { } earlier)
            {
                Log.PossibleReplay(_logger, pending.Delivery.App, pending.Delivery.DeliveryId, earlier, pending.Delivery.Event);
            }

            pending.Completion.TrySetResult(InboxOutcome.Stored);
            stored++;
        }

        if (stored > 0)
        {
            _signal.Notify();
        }
    }

    /// <summary>As <see cref="ReadyAsync"/>; a failure is logged, and tried again by the next call.</summary>
    public async Task ReadyOrTryAgainAsync()
    {
        try
        {
            await ReadyAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.LogRecoveryFailed(_logger, e.GetType().Name, e.Message);
            lock (_readyLock)
            {
                if (_logReady is { IsCompleted: true, IsCompletedSuccessfully: false })
                {
                    _logReady = null;
                }
            }

            throw;
        }
    }

    /// <summary>
    /// Opens the log and indexes what it holds beyond <see cref="WebhookLogEntity.IndexedThrough"/>: the deliveries whose
    /// rows a crash took from the database (committed without a sync: the log held them), in log order, as ingest would
    /// have (a delivery already stored loses at the unique index; a redelivery of a failed one queues it again). A
    /// damaged record is reported with its segment and offset and never indexed.
    /// </summary>
    private async Task RecoverFromLogAsync()
    {
        long indexedThrough;
        var db = await _databases.CreateDbContextAsync().ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            indexedThrough = await db.WebhookLog.Where(l => l.Id == 1).Select(l => (long?)l.IndexedThrough).FirstOrDefaultAsync().ConfigureAwait(false) ?? 0;
        }

        try
        {
            await _log.OpenAsync(indexedThrough, CancellationToken.None).ConfigureAwait(false);
        }
        catch (DeliveryLogInUseException e)
        {
            _logHeldElsewhere = true;
            Log.LogHeldElsewhere(_logger, e.Message);
            return;
        }

        if (_log.CutTail is { } torn)
        {
            Log.TornTailCut(_logger, Path.GetFileName(torn.Segment), torn.Offset, torn.Length);
        }

        var rows = new List<WebhookDeliveryEntity>();
        var positions = new List<LogPosition?>();
        var (recovered, through) = (0, indexedThrough);
        await foreach (var item in _log.ReadAfterAsync(indexedThrough, CancellationToken.None).ConfigureAwait(false))
        {
            switch (item)
            {
                case LogRecord record:
                    try
                    {
                        rows.Add(LoggedDelivery.Decode(record.Payload.Span));
                        positions.Add(new LogPosition(record.Sequence, record.Offset));
                    }
                    catch (InvalidDataException e)
                    {
                        Log.RecordUnreadable(_logger, record.Sequence, Path.GetFileName(record.Segment), record.Offset, e.Message);
                    }

                    through = record.Sequence;
                    break;
                case LogFault fault:
                    Log.RecordDamaged(_logger, fault.Kind.ToString(), Path.GetFileName(fault.Segment), fault.Offset, fault.Length);
                    break;
            }

            if (rows.Count == 256)
            {
                recovered += await IndexAgainAsync(rows, positions, through).ConfigureAwait(false);
            }
        }

        if (rows.Count > 0 || through > indexedThrough)
        {
            recovered += await IndexAgainAsync(rows, positions, through).ConfigureAwait(false);
        }

        if (through > indexedThrough)
        {
            Log.Recovered(_logger, through - indexedThrough, recovered);
            _signal.Notify();
        }
    }

    private async Task<int> IndexAgainAsync(List<WebhookDeliveryEntity> rows, List<LogPosition?> positions, long through)
    {
        var db = await _databases.CreateDbContextAsync().ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var since = _time.GetUtcNow() - _options.CurrentValue.ReplayWindow;
            var results = await DeliveryInsert.InsertAsync(_store, db, rows, rows.Select(r => r.Body).ToList(), since, positions, CancellationToken.None,
                indexedThrough: through).ConfigureAwait(false);
            rows.Clear();
            positions.Clear();
            return results.Count(r => r.Stored || r.Requeued);
        }
    }

    private sealed class Pending(WebhookDeliveryEntity delivery, byte[] storedBody, bool logged)
    {
        public WebhookDeliveryEntity Delivery { get; } = delivery;

        /// <summary>The body as the database keeps it, or the delivery's log record (<see cref="Logged"/>).</summary>
        public byte[] StoredBody { get; private set; } = storedBody;

        /// <summary>Whether <see cref="StoredBody"/> is a log record.</summary>
        public bool Logged { get; private set; } = logged;

        public void StoreInDatabase(byte[] storedBody)
        {
            StoredBody = storedBody;
            Logged = false;
        }

        public TaskCompletionSource<InboxOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 305, Level = LogLevel.Warning,
            Message = "Delivery log: a record being written when the process stopped (never acknowledged) was cut off the end of segment {Segment} at offset {Offset} ({Length} bytes)")]
        public static partial void TornTailCut(ILogger logger, string segment, long offset, long length);

        [LoggerMessage(EventId = 306, Level = LogLevel.Error,
            Message = "Delivery log: {Kind} bytes in segment {Segment} at offset {Offset} ({Length} bytes) hold no intact record; what they held is not indexed (recovery from GitHub's delivery log can ask for it again)")]
        public static partial void RecordDamaged(ILogger logger, string kind, string segment, long offset, long length);

        [LoggerMessage(EventId = 307, Level = LogLevel.Error,
            Message = "Delivery log: record {Sequence} in segment {Segment} at offset {Offset} is intact but not a delivery ({Reason}); not indexed")]
        public static partial void RecordUnreadable(ILogger logger, long sequence, string segment, long offset, string reason);

        [LoggerMessage(EventId = 308, Level = LogLevel.Warning,
            Message = "Delivery log: {Records} records beyond the index were read again at start; {Indexed} deliveries were indexed from them (the rest were stored already)")]
        public static partial void Recovered(ILogger logger, long records, int indexed);

        [LoggerMessage(EventId = 341, Level = LogLevel.Warning,
            Message = "{Reason} This process stores the bodies of its deliveries in the database instead; the log's owner indexes what the log holds at its own start")]
        public static partial void LogHeldElsewhere(ILogger logger, string reason);

        [LoggerMessage(EventId = 309, Level = LogLevel.Error, Message = "Delivery log could not be opened and indexed: {Exception}: {Reason}; tried again before the next delivery is stored")]
        public static partial void LogRecoveryFailed(ILogger logger, string exception, string reason);

        [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Could not store {Count} webhook deliveries: {Exception}: {Reason}")]
        public static partial void StoreFailed(ILogger logger, int count, string exception, string reason);

        [LoggerMessage(EventId = 302, Level = LogLevel.Debug,
            Message = "Delivery {DeliveryId} ({Event}) to App {App} has the same body as its delivery {EarlierDeliveryId}: a possible replay under a new delivery id; stored and flagged")]
        public static partial void PossibleReplay(ILogger logger, string app, string deliveryId, string earlierDeliveryId, string @event);

        [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Delivery {DeliveryId} to App {App} queued again (replay)")]
        public static partial void Replayed(ILogger logger, string app, string deliveryId);

        [LoggerMessage(EventId = 304, Level = LogLevel.Information,
            Message = "Delivery {DeliveryId} ({Event}) to App {App} had failed here and GitHub redelivered it: queued again with a full set of retries")]
        public static partial void Redelivered(ILogger logger, string app, string deliveryId, string @event);
    }
}

/// <summary>Wakes the worker when a delivery was stored or queued again, so it need not wait for its next poll.</summary>
internal sealed class DeliverySignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Notify()
    {
        if (_semaphore.CurrentCount == 0)
        {
            try
            {
                _semaphore.Release();
            }
            catch (SemaphoreFullException)
            {
                // already signalled
            }
        }
    }

    public void Dispose() => _semaphore.Dispose();

    /// <summary>Waits for a signal or <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        using var delay = new CancellationTokenSource(timeout, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, delay.Token);
        try
        {
            await _semaphore.WaitAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // the poll interval passed
        }
    }
}

/// <summary>
/// At start-up, opens SQLite's delivery log and indexes what a crash left in it beyond the index, before the service
/// answers (normally a few records; <see cref="WebhookInbox.ReadyAsync"/>). A failure is logged and tried again by the
/// first delivery stored, which answers 503 until the log opens.
/// </summary>
internal sealed class DeliveryLogStartup(IServiceProvider services, DeliveryLog log) : Microsoft.Extensions.Hosting.IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!log.IsEnabled)
        {
            return;
        }

        try
        {
            await services.GetRequiredService<WebhookInbox>().ReadyOrTryAgainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Logged by the inbox; ingest answers 503 and tries again.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
