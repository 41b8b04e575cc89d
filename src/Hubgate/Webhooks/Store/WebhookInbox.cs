using System.Threading.Channels;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
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
    private readonly Task _writer;

    public WebhookInbox(IDbContextFactory<HubgateDbContext> databases, DeliveryStore store, IOptions<DatabaseOptions> database, IOptionsMonitor<WebhookOptions> options,
        DeliverySignal signal, WorkSignal work, TimeProvider time, ILogger<WebhookInbox> logger)
    {
        ArgumentNullException.ThrowIfNull(database);
        _databases = databases;
        _store = store;
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
        // Compressed on the request's thread, in parallel, rather than on the one writer's.
        var pending = new Pending(delivery, _compressBodies ? BodyCodec.Encode(delivery.Body) : delivery.Body);
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
        var since = _time.GetUtcNow() - _options.CurrentValue.ReplayWindow;
        var db = await _databases.CreateDbContextAsync().ConfigureAwait(false);
        await using var dbDisposal = db.ConfigureAwait(false);
        var results = await DeliveryInsert.InsertAsync(_store, db, batch.Select(p => p.Delivery).ToList(), batch.Select(p => p.StoredBody).ToList(), since,
            CancellationToken.None).ConfigureAwait(false);

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

    private sealed class Pending(WebhookDeliveryEntity delivery, byte[] storedBody)
    {
        public WebhookDeliveryEntity Delivery { get; } = delivery;

        /// <summary>The body as the database keeps it.</summary>
        public byte[] StoredBody { get; } = storedBody;
        public TaskCompletionSource<InboxOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
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
