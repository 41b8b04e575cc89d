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
/// </summary>
internal sealed class SqliteWriteGate : DbTransactionInterceptor, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _lock = new();
    private readonly TimeSpan _timeout;
    private DbConnection? _holder;
    private DbTransaction? _transaction;

    public SqliteWriteGate(TimeSpan timeout) => _timeout = timeout;

    /// <summary>Whether a transaction holds the gate now (for tests).</summary>
    internal bool IsHeld => _gate.CurrentCount == 0;

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result)
    {
        if (_gate.Wait(_timeout))
        {
            Hold(connection);
        }

        return result;
    }

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection,
        TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        if (await _gate.WaitAsync(_timeout, cancellationToken).ConfigureAwait(false))
        {
            Hold(connection);
        }

        return result;
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

    public void Dispose() => _gate.Dispose();

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
            _gate.Release();
        }
    }
}
