using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Hubgate.Storage;

/// <summary>
/// Queues this process's SQLite write transactions in memory, so that one waiting for the write lock wakes the moment
/// the lock is given up. Without it, a writer that finds the lock taken sleeps in SQLite's busy handler for 1, 2, 5,
/// 10 … up to 100 ms at a time, and under load those sleeps, not the writes, made the tail: with the worker processing
/// pushes of a known installation beside the ingest load, ingest p99 went from 83–131 ms to 19–23 ms with the gate
/// (docs/benchmarks.md).
/// <para>
/// The gate is taken when a transaction begins (every SQLite transaction here is <c>BEGIN IMMEDIATE</c>, a write) and
/// given back when it commits, rolls back or fails, or when its connection closes (a transaction disposed without
/// either). It adds no correctness of its own: SQLite's lock still does that, and other processes (the CLI) still meet
/// it through the busy handler. A writer that cannot get the gate within the busy timeout goes ahead without it, as
/// it would have without the gate.
/// </para>
/// <para>
/// The inbox's writes go first: a transaction begun inside <see cref="First"/> is handed the gate before every
/// transaction of the subscriptions' state that is waiting (fan-out, claims, outcomes), which otherwise queued ahead of
/// it in arrival order and made the answer to GitHub wait behind them (ingest p99 79 → 799 ms at 1,000 deliveries/s
/// once the claims went through the gate). The others keep their arrival order among themselves.
/// </para>
/// </summary>
internal sealed class SqliteWriteGate : DbTransactionInterceptor, IDisposable
{
    private static readonly AsyncLocal<bool> Priority = new();
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource<bool>> _first = new();
    private readonly Queue<TaskCompletionSource<bool>> _rest = new();
    private readonly TimeSpan _timeout;
    private bool _taken;
    private DbConnection? _holder;
    private DbTransaction? _transaction;

    public SqliteWriteGate(TimeSpan timeout) => _timeout = timeout;

    /// <summary>Whether a transaction holds the gate now (for tests).</summary>
    internal bool IsHeld
    {
        get
        {
            lock (_lock)
            {
                return _taken;
            }
        }
    }

    /// <summary>How many transactions wait for the gate now (for tests).</summary>
    internal int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _first.Count(w => !w.Task.IsCompleted) + _rest.Count(w => !w.Task.IsCompleted);
            }
        }
    }

    /// <summary>
    /// Transactions begun until the result is disposed (in this asynchronous flow) are handed the gate before the
    /// others waiting: the inbox's, whose commit GitHub's answer waits for.
    /// </summary>
    public static IDisposable First()
    {
        var before = Priority.Value;
        Priority.Value = true;
        return new Restore(before);
    }

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result)
    {
        if (EnterAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult())
        {
            Hold(connection);
        }

        return result;
    }

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection,
        TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            Hold(connection);
        }

        return result;
    }

    /// <summary>Takes the gate, waiting in the queue of this flow's priority; false when the busy timeout passed first.</summary>
    private async ValueTask<bool> EnterAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<bool> turn;
        lock (_lock)
        {
            if (!_taken)
            {
                _taken = true;
                return true;
            }

            turn = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            (Priority.Value ? _first : _rest).Enqueue(turn);
        }

        try
        {
            return await turn.Task.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            bool handed;
            lock (_lock)
            {
                // Given up: a release now passes this turn over. Unless the gate was handed to it in the meantime, when
                // it is this transaction's after all (or, cancelled, goes on to the next).
                handed = !turn.TrySetResult(false) && turn.Task.Result;
                if (handed && e is OperationCanceledException)
                {
                    PassOn();
                }
            }

            if (e is OperationCanceledException)
            {
                throw;
            }

            return handed;
        }
    }

    /// <summary>Hands the gate to the next turn still waiting, the inbox's before the others; or leaves it free. Under the lock.</summary>
    private void PassOn()
    {
        while (_first.TryDequeue(out var next) || _rest.TryDequeue(out next))
        {
            if (next.TrySetResult(true))
            {
                return;
            }
        }

        _taken = false;
    }

    public override DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        Started(connection, result);
        return result;
    }

    public override ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
        CancellationToken cancellationToken = default)
    {
        Started(connection, result);
        return ValueTask.FromResult(result);
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Release(transaction);

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(transaction);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Release(transaction);

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(transaction);
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Release(transaction);

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(transaction);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            while (_first.TryDequeue(out var waiting) || _rest.TryDequeue(out waiting))
            {
                waiting.TrySetResult(false);
            }
        }
    }

    private void Hold(DbConnection connection)
    {
        lock (_lock)
        {
            _holder = connection;
            _transaction = null;
        }

        // A transaction disposed without a commit or rollback, or one that failed to begin, raises none of the events
        // above: the gate then goes back when its connection closes.
        connection.StateChange += Closed;
    }

    private void Closed(object sender, System.Data.StateChangeEventArgs e)
    {
        if (e.CurrentState == System.Data.ConnectionState.Closed)
        {
            Release(sender);
        }
    }

    private void Started(DbConnection connection, DbTransaction transaction)
    {
        lock (_lock)
        {
            if (ReferenceEquals(_holder, connection))
            {
                _transaction = transaction;
            }
        }
    }

    /// <summary>Gives the gate back if <paramref name="key"/> (a transaction or its connection) holds it.</summary>
    private void Release(object key)
    {
        lock (_lock)
        {
            if (_holder is null || (!ReferenceEquals(_holder, key) && !ReferenceEquals(_transaction, key)))
            {
                return;
            }

            _holder.StateChange -= Closed;
            _holder = null;
            _transaction = null;
            PassOn();
        }
    }

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => Priority.Value = before;
    }
}
