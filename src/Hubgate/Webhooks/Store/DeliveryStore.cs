using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Hubgate.Webhooks.Store.Log;
using Microsoft.Data.Sqlite;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Hubgate.Webhooks.Store;

/// <summary>
/// The life of a delivery after ingest, in one place: every state transition of (delivery, subscription) —
/// fan-out, claim, lease renewal, outcome, hand-back, reclaim after a crash, requeue (replay and GitHub's redelivery),
/// acknowledgement by a stream's listener, and retention — and the provider's SQL for each. One subclass per database
/// provider holds what differs (<see cref="SqliteDeliveryStore"/>, <see cref="PostgresDeliveryStore"/>); nothing
/// outside this folder asks which database it is.
/// <para>
/// The states: <c>pending → processing → processed | ignored | failed → … → dead</c>, and <c>expired</c> when
/// retention removed a delivery a subscription still owed. A claim is one conditional <c>UPDATE</c> (so two workers,
/// or two replicas, never hold the same row), with a lease renewed by the holder's heartbeat; an outcome is written
/// only where its worker still holds the lease.
/// </para>
/// </summary>
internal abstract class DeliveryStore(IDbContextFactory<HubgateDbContext> databases) : IDisposable
{
    internal const string Inbox = "webhook_deliveries";
    internal const string Rows = "subscription_deliveries";

    /// <summary>States a subscription is done with: an ordered subscription's later rows wait for an earlier one until it is in one of these.</summary>
    internal static readonly DeliveryState[] Settled = [DeliveryState.Processed, DeliveryState.Ignored, DeliveryState.Dead, DeliveryState.Expired];

    /// <summary>The states a replay from the API, dashboard or CLI takes a row from (all but <c>processing</c>).</summary>
    public static readonly DeliveryState[] AnyButProcessing =
        [DeliveryState.Pending, DeliveryState.Processed, DeliveryState.Ignored, DeliveryState.Failed, DeliveryState.Dead, DeliveryState.Expired];

    /// <summary>The states GitHub's redelivery (the same delivery id again) takes a row from: those it failed in.</summary>
    public static readonly DeliveryState[] AfterFailure = [DeliveryState.Failed, DeliveryState.Dead];

    private static readonly ConditionalWeakTable<IModel, FinishPlan> FinishPlans = [];
    private readonly SemaphoreSlim _fanOut = new(1, 1);

    protected IDbContextFactory<HubgateDbContext> Databases { get; } = databases;

    /// <summary>A time as the provider stores it (SQLite: a sortable integer; PostgreSQL: <c>timestamptz</c>).</summary>
    protected abstract object Time(DateTimeOffset value);

    /// <summary>What ends a read of rows about to be claimed: PostgreSQL locks them and skips rows another replica is claiming.</summary>
    protected abstract string LockForClaim { get; }

    /// <summary>
    /// What serialises fan-out across processes (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write
    /// transaction itself). One at a time, deliveries get their rows in sequence order: an ordered subscription never sees
    /// a later delivery for a key before an earlier one has its row.
    /// </summary>
    protected abstract string? FanOutLock { get; }

    /// <summary>
    /// What an inbox transaction takes first, held until it commits, so that sequence numbers are committed in order
    /// (PostgreSQL: a transaction-scoped advisory lock shared by the replicas; SQLite: none needed, one writer). Without
    /// it two replicas could commit sequence 101 before 100, and the fan-out, reading what is committed in order, would
    /// hand out 101 first: a stream's listener past 101 would never see 100, and an ordered subscription would send a
    /// repository's later delivery first.
    /// </summary>
    protected virtual string? InboxLock => null;

    /// <summary>Takes <see cref="InboxLock"/> in <paramref name="db"/>'s current transaction (the inbox writer's batch).</summary>
    internal async Task LockInboxAsync(HubgateDbContext db, CancellationToken cancellationToken)
    {
        if (InboxLock is { } inboxLock)
        {
            await ExecuteAsync(db, inboxLock, [], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether rows left <c>processing</c> by a previous process are due at start (SQLite: one host owns the file).</summary>
    public abstract bool ReclaimsAtStart { get; }

    /// <summary>The provider's literal for true.</summary>
    protected abstract string True { get; }

    public static string Literal(DeliveryState state) => $"'{state}'";

    private static string Literals(IEnumerable<DeliveryState> states) => string.Join(", ", states.Select(Literal));

    private static string Numbers(IEnumerable<long> values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));

    // ---------------------------------------------------------------- fan-out

    /// <summary>
    /// Hands up to <paramref name="batchSize"/> deliveries not yet fanned out to <paramref name="subscriptions"/>, oldest
    /// first: a <c>pending</c> row for each subscription whose filter a delivery passes (paused and disabled ones too: they
    /// are owed it), and the deliveries marked fanned out, in one transaction. Ingest does none of this: it only
    /// appends. One fan-out at a time per process; on PostgreSQL replicas take different deliveries (<c>SKIP LOCKED</c>).
    /// Returns how many deliveries were handed out.
    /// </summary>
    public async Task<int> FanOutAsync(IReadOnlyList<FanOutTarget> subscriptions, int batchSize, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _fanOut.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                // Read first, outside a write transaction: most calls find nothing, and on SQLite a write transaction
                // would take the write lock from ingest for nothing.
                if (!await AnyNotFannedOutAsync(db, cancellationToken).ConfigureAwait(false))
                {
                    return 0;
                }

                return await InStateTransactionAsync(db, async () =>
                {
                    if (FanOutLock is { } fanOutLock)
                    {
                        await ExecuteAsync(db, fanOutLock, [], cancellationToken).ConfigureAwait(false);
                    }

                    var deliveries = new List<FanOutRow>();
                    await ReadAsync(db,
                        $"SELECT \"Id\", \"Event\", \"Action\", \"InstallationId\", \"RepositoryId\", \"RepositoryFullName\" FROM {Inbox} " +
                        // Ordered as the partial index is (FannedOut, Id): ORDER BY "Id" alone made SQLite walk the whole inbox in rowid order.
                        $"WHERE NOT \"FannedOut\" ORDER BY \"FannedOut\", \"Id\" LIMIT {batchSize}",
                        [], r => deliveries.Add(new FanOutRow(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2),
                            r.IsDBNull(3) ? null : r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt64(4), r.IsDBNull(5) ? null : r.GetString(5))),
                        cancellationToken).ConfigureAwait(false);
                    if (deliveries.Count == 0)
                    {
                        return 0;
                    }

                    var rows = new List<SubscriptionDeliveryEntity>(deliveries.Count * subscriptions.Count);
                    foreach (var delivery in deliveries)
                    {
                        foreach (var subscription in subscriptions)
                        {
                            if (!subscription.Filter.Matches(delivery.Event, delivery.Action, delivery.InstallationId, delivery.RepositoryFullName))
                            {
                                continue;
                            }

                            rows.Add(new SubscriptionDeliveryEntity
                            {
                                Subscription = subscription.Name,
                                DeliverySeq = delivery.Id,
                                NextAttemptAt = now,
                                OrderKey = subscription.Ordering switch
                                {
                                    SubscriptionOrdering.Repository => delivery.RepositoryId,
                                    SubscriptionOrdering.Installation => delivery.InstallationId,
                                    _ => null,
                                },
                            });
                        }
                    }

                    await BulkInsert.InsertAsync(db, rows, cancellationToken).ConfigureAwait(false);
                    await ExecuteAsync(db, $"UPDATE {Inbox} SET \"FannedOut\" = {True} WHERE \"Id\" IN ({Numbers(deliveries.Select(d => d.Id))})",
                        [], cancellationToken).ConfigureAwait(false);
                    return deliveries.Count;
                }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _fanOut.Release();
        }
    }

    private static async Task<bool> AnyNotFannedOutAsync(HubgateDbContext db, CancellationToken cancellationToken)
    {
        var any = false;
        await ReadAsync(db, $"SELECT 1 FROM {Inbox} WHERE NOT \"FannedOut\" LIMIT 1", [], _ => any = true, cancellationToken).ConfigureAwait(false);
        return any;
    }

    private sealed record FanOutRow(long Id, string Event, string? Action, long? InstallationId, long? RepositoryId, string? RepositoryFullName);

    // ---------------------------------------------------------------- claim, lease, outcome

    /// <summary>
    /// Claims up to <paramref name="batchSize"/> of <paramref name="subscription"/>'s due rows for <paramref name="owner"/>
    /// until <paramref name="leaseUntil"/>, oldest first: pending ones in order of receipt, failed ones whose retry time
    /// has come, processing ones whose worker's lease ran out. Each kind is read along the claim index and stops after a
    /// batch, so a claim costs the same with a backlog of ten or of a million. When <paramref name="ordered"/>, a row
    /// whose key has an earlier row not yet settled is not due (at most one in flight per key, in sequence order). A row
    /// whose worker vanished on its last allowed attempt (<paramref name="maxAttempts"/>) is made dead, not tried again:
    /// it may be what kills workers.
    /// </summary>
    public async Task<List<Claimed>> ClaimAsync(string subscription, string owner, int batchSize, bool ordered, int maxAttempts,
        DateTimeOffset now, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            object[] parameters = [subscription, Time(now)];
            if (LockForClaim.Length > 0)
            {
                // PostgreSQL: the reads lock the rows they return, so they are in the claim's transaction.
                return await InStateTransactionAsync(db, async () => await TakeAsync(db,
                    await ReadDueAsync(db, parameters, batchSize, ordered, cancellationToken).ConfigureAwait(false),
                    parameters, owner, leaseUntil, maxAttempts, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
            }

            // SQLite: read outside a transaction (a write transaction would hold the write lock for the reads); the
            // conditional UPDATE is what makes the claim exclusive. The writes are a transaction all the same: it queues
            // for the write lock behind the process's other writers (SqliteWriteGate) instead of polling for it in
            // SQLite's busy handler, which sleeps up to 100 ms a time and lost to the gated writers again and again under
            // load (claims waited up to 2 s: docs/benchmarks.md).
            var due = await ReadDueAsync(db, parameters, batchSize, ordered, cancellationToken).ConfigureAwait(false);
            return due.Count == 0
                ? []
                : await InStateTransactionAsync(db, () => TakeAsync(db, due, parameters, owner, leaseUntil, maxAttempts, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The claim's reads: up to <paramref name="batchSize"/> due rows, oldest first, each kind along the claim index.
    /// <paramref name="parameters"/>: the subscription and now.
    /// </summary>
    private async Task<List<(long Seq, DeliveryState State, int Attempts)>> ReadDueAsync(HubgateDbContext db, object[] parameters, int batchSize,
        bool ordered, CancellationToken cancellationToken)
    {
        var blocked = ordered
            ? $" AND (s.\"OrderKey\" IS NULL OR NOT EXISTS (SELECT 1 FROM {Rows} e WHERE e.\"Subscription\" = s.\"Subscription\" " +
              $"AND e.\"OrderKey\" = s.\"OrderKey\" AND e.\"DeliverySeq\" < s.\"DeliverySeq\" AND e.\"State\" NOT IN ({Literals(Settled)})))"
            : "";
        var due = new List<(long Seq, DeliveryState State, int Attempts)>();
        void Add(DbDataReader r) => due.Add((r.GetInt64(0), Enum.Parse<DeliveryState>(r.GetString(1)), r.GetInt32(2)));
        foreach (var state in (DeliveryState[])[DeliveryState.Pending, DeliveryState.Failed])
        {
            await ReadAsync(db,
                $"SELECT s.\"DeliverySeq\", s.\"State\", s.\"Attempts\" - s.\"AttemptsAtReplay\" FROM {Rows} s " +
                $"WHERE s.\"Subscription\" = @p0 AND s.\"State\" = {Literal(state)} AND s.\"NextAttemptAt\" <= @p1{blocked} " +
                $"ORDER BY s.\"NextAttemptAt\", s.\"DeliverySeq\" LIMIT {batchSize} {LockForClaim}",
                parameters, Add, cancellationToken).ConfigureAwait(false);
        }

        await ReadAsync(db,
            $"SELECT s.\"DeliverySeq\", s.\"State\", s.\"Attempts\" - s.\"AttemptsAtReplay\" FROM {Rows} s " +
            $"WHERE s.\"Subscription\" = @p0 AND s.\"State\" = {Literal(DeliveryState.Processing)} AND s.\"LeaseExpiresAt\" < @p1 " +
            // Along the claim index (only the rows in flight); ORDER BY "DeliverySeq" alone made SQLite walk every row the subscription ever had by its key.
            $"ORDER BY s.\"NextAttemptAt\", s.\"DeliverySeq\" LIMIT {batchSize} {LockForClaim}",
            parameters, Add, cancellationToken).ConfigureAwait(false);
        return [.. due.OrderBy(d => d.Seq).Take(batchSize)];
    }

    /// <summary>
    /// The claim's writes, in the current transaction: <paramref name="due"/> rows whose worker vanished on their last
    /// allowed attempt are made dead, the others leased to <paramref name="owner"/> by one conditional UPDATE (a row
    /// another worker claimed meanwhile no longer matches). Returns what was claimed, by sequence.
    /// </summary>
    private async Task<List<Claimed>> TakeAsync(HubgateDbContext db, List<(long Seq, DeliveryState State, int Attempts)> due, object[] parameters,
        string owner, DateTimeOffset leaseUntil, int maxAttempts, CancellationToken cancellationToken)
    {
        var orphaned = due.Where(d => d.State == DeliveryState.Processing && d.Attempts >= maxAttempts).Select(d => d.Seq).ToList();
        if (orphaned.Count > 0)
        {
            await ExecuteAsync(db,
                $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Dead)}, \"LeaseOwner\" = NULL, \"LeaseExpiresAt\" = NULL, " +
                "\"LastError\" = 'The worker processing its last attempt stopped (crash or lease expiry) before finishing.' " +
                $"WHERE \"Subscription\" = @p0 AND \"DeliverySeq\" IN ({Numbers(orphaned)}) AND \"State\" = {Literal(DeliveryState.Processing)} AND \"LeaseExpiresAt\" < @p1",
                parameters, cancellationToken).ConfigureAwait(false);
        }

        var candidates = due.Select(d => d.Seq).Except(orphaned).ToList();
        var claimed = new List<Claimed>(candidates.Count);
        if (candidates.Count > 0)
        {
            await ReadAsync(db,
                $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Processing)}, \"LeaseOwner\" = @p2, \"LeaseExpiresAt\" = @p3, " +
                "\"Attempts\" = \"Attempts\" + 1 " +
                $"WHERE \"Subscription\" = @p0 AND \"DeliverySeq\" IN ({Numbers(candidates)}) AND (CASE WHEN \"State\" = {Literal(DeliveryState.Processing)} " +
                $"THEN \"LeaseExpiresAt\" < @p1 ELSE \"State\" IN ({Literal(DeliveryState.Pending)}, {Literal(DeliveryState.Failed)}) AND \"NextAttemptAt\" <= @p1 END) " +
                "RETURNING \"DeliverySeq\", \"Attempts\", \"AttemptsAtReplay\"",
                [.. parameters, owner, Time(leaseUntil)],
                r => claimed.Add(new Claimed(r.GetInt64(0), r.GetInt32(1), r.GetInt32(2))), cancellationToken).ConfigureAwait(false);
        }

        claimed.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        return claimed;
    }

    /// <summary>What this process stored last (<see cref="RecentDeliveries"/>): the inbox adds to it, <see cref="LoadAsync"/> reads it first.</summary>
    public RecentDeliveries Recent { get; } = new();

    /// <summary>
    /// The inbox rows (bodies included) of <paramref name="sequences"/>, by sequence: those this process stored lately
    /// from memory (<see cref="Recent"/>), the others in one read. Callers only read them.
    /// </summary>
    public async Task<Dictionary<long, WebhookDeliveryEntity>> LoadAsync(IReadOnlyCollection<long> sequences, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, WebhookDeliveryEntity>(sequences.Count);
        List<long>? missing = null;
        foreach (var sequence in sequences)
        {
            if (Recent.TryGet(sequence, out var delivery))
            {
                found[sequence] = delivery;
            }
            else
            {
                (missing ??= []).Add(sequence);
            }
        }

        if (missing is null)
        {
            return found;
        }

        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var ids = missing.ToArray();
            var loaded = new List<WebhookDeliveryEntity>(ids.Length);
            await foreach (var delivery in db.WebhookDeliveries.AsNoTracking().Where(d => ids.Contains(d.Id)).AsAsyncEnumerable()
                               .WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                found[delivery.Id] = delivery;
                loaded.Add(delivery);
            }

            await FillBodiesAsync(loaded, cancellationToken).ConfigureAwait(false);
        }

        return found;
    }

    /// <summary>Extends the lease of every row of <paramref name="subscription"/> that <paramref name="owner"/> holds, in one statement (the heartbeat), along the claim index.</summary>
    public async Task RenewAsync(string subscription, string owner, DateTimeOffset leaseUntil, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await InStateTransactionAsync(db, () => ExecuteAsync(db,
                $"UPDATE {Rows} SET \"LeaseExpiresAt\" = @p1 WHERE \"Subscription\" = @p2 AND \"State\" = {Literal(DeliveryState.Processing)} AND \"LeaseOwner\" = @p0",
                [owner, Time(leaseUntil), subscription], cancellationToken), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Records a batch's outcomes and gives up their leases in one transaction: each row's <c>State</c>,
    /// <c>NextAttemptAt</c>, <c>ProcessedAt</c>, <c>LastError</c>, <c>LastStatus</c> and <c>IgnoredReason</c>, where
    /// <paramref name="owner"/> still holds it (one prepared statement re-bound per row on SQLite, one round trip on
    /// PostgreSQL). Returns, per row, whether it was written (false: the lease ran out and another worker took over).
    /// </summary>
    public async Task<bool[]> FinishAsync(IReadOnlyList<SubscriptionDeliveryEntity> rows, string owner, CancellationToken cancellationToken)
    {
        var recorded = new bool[rows.Count];
        if (rows.Count == 0)
        {
            return recorded;
        }

        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var plan = FinishPlans.GetValue(db.Model, BuildFinish);
            await InStateTransactionAsync(db, async () =>
            {
                await BulkInsert.ExecutePerRowAsync(db, plan.Sql, plan.Columns, rows, new BulkInsert.DbParameterValue("@owner", owner),
                    async (reader, r, ct) => recorded[r] = await reader.ReadAsync(ct).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
                return rows.Count;
            }, cancellationToken).ConfigureAwait(false);
        }

        return recorded;
    }

    private static FinishPlan BuildFinish(IModel model)
    {
        var entity = model.FindEntityType(typeof(SubscriptionDeliveryEntity))!;
        IProperty Property(string name) => entity.FindProperty(name)!;
        string[] written =
        [
            nameof(SubscriptionDeliveryEntity.State), nameof(SubscriptionDeliveryEntity.NextAttemptAt), nameof(SubscriptionDeliveryEntity.ProcessedAt),
            nameof(SubscriptionDeliveryEntity.LastError), nameof(SubscriptionDeliveryEntity.LastStatus), nameof(SubscriptionDeliveryEntity.IgnoredReason),
        ];
        var sql =
            $"UPDATE {Rows} SET {string.Join(", ", written.Select((name, i) => $"\"{name}\" = @p{i}"))}, \"LeaseOwner\" = NULL, \"LeaseExpiresAt\" = NULL " +
            $"WHERE \"Subscription\" = @p{written.Length} AND \"DeliverySeq\" = @p{written.Length + 1} AND \"LeaseOwner\" = @owner RETURNING \"DeliverySeq\"";
        return new FinishPlan(sql,
            [.. written.Append(nameof(SubscriptionDeliveryEntity.Subscription)).Append(nameof(SubscriptionDeliveryEntity.DeliverySeq))
                .Select(name => BulkInsert.ColumnOf(Property(name)))]);
    }

    private sealed record FinishPlan(string Sql, BulkInsert.Column[] Columns);

    /// <summary>Hands a claimed row back untouched (shutting down): pending, due now, the attempt not counted.</summary>
    public async Task ReleaseAsync(string subscription, long sequence, string owner, DateTimeOffset now)
    {
        var db = await Databases.CreateDbContextAsync(CancellationToken.None).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await InStateTransactionAsync(db, () => ExecuteAsync(db,
                $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Pending)}, \"NextAttemptAt\" = @p3, \"LeaseOwner\" = NULL, \"LeaseExpiresAt\" = NULL, " +
                $"\"Attempts\" = \"Attempts\" - 1 WHERE \"Subscription\" = @p0 AND \"DeliverySeq\" = @p1 AND \"LeaseOwner\" = @p2 AND \"State\" = {Literal(DeliveryState.Processing)}",
                [subscription, sequence, owner, Time(now)], CancellationToken.None), CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// At start, where one host owns the database (SQLite): rows still <c>processing</c> for a process other than <paramref name="process"/> (this one) are due
    /// now rather than when their lease would have run out. Returns how many.
    /// </summary>
    public async Task<int> ReclaimAfterRestartAsync(string process, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!ReclaimsAtStart)
        {
            return 0;
        }

        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await ExecuteAsync(db,
                $"UPDATE {Rows} SET \"LeaseExpiresAt\" = @p1 WHERE \"State\" = {Literal(DeliveryState.Processing)} AND \"LeaseOwner\" NOT LIKE @p0",
                [process + "%", Time(now.AddSeconds(-1))], cancellationToken).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- requeue, acknowledgement

    /// <summary>
    /// Puts the App's delivery <paramref name="deliveryId"/> back in the queue of <paramref name="subscription"/> (every
    /// subscription when null), from any of <paramref name="from"/>: <c>pending</c>, due now, a full set of retries
    /// (<c>AttemptsAtReplay = Attempts</c>: the count of attempts goes on), no outcome. The state is checked by the write
    /// itself, so of two replicas only one moves a row. Runs in <paramref name="db"/>'s current transaction when there
    /// is one. Returns the delivery's sequence when at least one row moved.
    /// </summary>
    public async Task<long?> RequeueAsync(HubgateDbContext db, string app, string deliveryId, string? subscription, IReadOnlyList<DeliveryState> from,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        long? sequence = null;
        await ReadAsync(db,
            $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Pending)}, \"AttemptsAtReplay\" = \"Attempts\", \"NextAttemptAt\" = @p2, " +
            "\"ProcessedAt\" = NULL, \"IgnoredReason\" = NULL " +
            $"WHERE \"DeliverySeq\" = (SELECT \"Id\" FROM {Inbox} WHERE \"App\" = @p0 AND \"DeliveryId\" = @p1) AND \"State\" IN ({Literals(from)})" +
            (subscription is null ? "" : " AND \"Subscription\" = @p3") +
            " RETURNING \"DeliverySeq\"",
            subscription is null ? [app, deliveryId, Time(now)] : [app, deliveryId, Time(now), subscription],
            r => sequence = r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        return sequence;
    }

    /// <summary>As <see cref="RequeueAsync(HubgateDbContext, string, string, string?, IReadOnlyList{DeliveryState}, DateTimeOffset, CancellationToken)"/> in a context of its own.</summary>
    public async Task<long?> RequeueAsync(string app, string deliveryId, string? subscription, IReadOnlyList<DeliveryState> from,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await RequeueAsync(db, app, deliveryId, subscription, from, now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Puts <paramref name="subscription"/>'s rows of the deliveries received from <paramref name="since"/> (inclusive) to
    /// <paramref name="until"/> (exclusive) — of one event, and one action, when given — back in its queue from any of
    /// <paramref name="from"/>, as <see cref="RequeueAsync(HubgateDbContext, string, string, string?, IReadOnlyList{DeliveryState}, DateTimeOffset, CancellationToken)"/>
    /// does for one delivery. The range is walked in sequence order, <paramref name="batchSize"/> rows per statement, so
    /// no statement holds the write lock for long however wide the range; each write checks the state again. Returns how
    /// many rows moved.
    /// </summary>
    public async Task<int> RequeueRangeAsync(string subscription, DateTimeOffset since, DateTimeOffset until, string? @event, string? action,
        IReadOnlyList<DeliveryState> from, int batchSize, DateTimeOffset now, CancellationToken cancellationToken)
    {
        List<object> parameters = [subscription, 0L, Time(since), Time(until)];
        var filter = "";
        if (@event is not null)
        {
            parameters.Add(@event);
            filter += $" AND d.\"Event\" = @p{parameters.Count - 1}";
        }

        if (action is not null)
        {
            parameters.Add(action);
            filter += $" AND d.\"Action\" = @p{parameters.Count - 1}";
        }

        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var moved = 0;
            while (true)
            {
                var batch = new List<long>(batchSize);
                await ReadAsync(db,
                    $"SELECT s.\"DeliverySeq\" FROM {Rows} s JOIN {Inbox} d ON d.\"Id\" = s.\"DeliverySeq\" " +
                    $"WHERE s.\"Subscription\" = @p0 AND s.\"DeliverySeq\" > @p1 AND d.\"ReceivedAt\" >= @p2 AND d.\"ReceivedAt\" < @p3{filter} " +
                    $"AND s.\"State\" IN ({Literals(from)}) ORDER BY s.\"DeliverySeq\" LIMIT {batchSize}",
                    [.. parameters], r => batch.Add(r.GetInt64(0)), cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    return moved;
                }

                moved += await ExecuteAsync(db,
                    $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Pending)}, \"AttemptsAtReplay\" = \"Attempts\", \"NextAttemptAt\" = @p1, " +
                    "\"ProcessedAt\" = NULL, \"IgnoredReason\" = NULL " +
                    $"WHERE \"Subscription\" = @p0 AND \"DeliverySeq\" IN ({Numbers(batch)}) AND \"State\" IN ({Literals(from)})",
                    [subscription, Time(now)], cancellationToken).ConfigureAwait(false);
                if (batch.Count < batchSize)
                {
                    return moved;
                }

                parameters[1] = batch[^1];
            }
        }
    }

    /// <summary>
    /// A stream's listener has every delivery up to <paramref name="sequence"/>: its rows up to there are
    /// <c>processed</c>. Returns how many rows moved.
    /// </summary>
    public async Task<int> AcknowledgeAsync(string subscription, long sequence, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await ExecuteAsync(db,
                $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Processed)}, \"ProcessedAt\" = @p2, \"Attempts\" = \"Attempts\" + 1 " +
                $"WHERE \"Subscription\" = @p0 AND \"DeliverySeq\" <= @p1 AND \"State\" IN ({Literal(DeliveryState.Pending)}, {Literal(DeliveryState.Failed)})",
                [subscription, sequence, Time(now)], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What a stream's listener reads next: up to <paramref name="batchSize"/> of <paramref name="subscription"/>'s rows
    /// after sequence <paramref name="after"/>, in sequence order, with their inbox rows (bodies included). With
    /// <paramref name="owedOnly"/>, only rows not yet acknowledged (<c>pending</c>, <c>failed</c>). Read along the primary
    /// key from <paramref name="after"/> on, so a read costs the same however long the stream's history is.
    /// </summary>
    public async Task<List<WebhookDeliveryEntity>> ReadStreamAsync(string subscription, long after, bool owedOnly, int batchSize,
        CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var rows = db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == subscription && s.DeliverySeq > after);
            if (owedOnly)
            {
                rows = rows.Where(s => s.State == DeliveryState.Pending || s.State == DeliveryState.Failed);
            }

            var deliveries = await rows.OrderBy(s => s.DeliverySeq).Take(batchSize)
                .Join(db.WebhookDeliveries.AsNoTracking(), s => s.DeliverySeq, d => d.Id, (s, d) => d)
                .OrderBy(d => d.Id)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            await FillBodiesAsync(deliveries, cancellationToken).ConfigureAwait(false);
            return deliveries;
        }
    }

    /// <summary>
    /// Where a stream's listener that brings no cursor of its own starts: just before <paramref name="subscription"/>'s
    /// oldest row not yet acknowledged (<c>pending</c>, <c>failed</c>), found along the claim index; when none is owed,
    /// after the newest row.
    /// </summary>
    public async Task<long> StreamStartAsync(string subscription, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            // The newest first, then what is owed. Each read sees what was committed when it ran, so a row the fan-out
            // commits between them is either found owed (and the start is before it) or newer than the newest read (and
            // read after it). In the other order, a delivery handed out between "nothing owed" and "the newest" was
            // skipped: a listener connecting as a delivery arrived could miss it.
            long newest = 0;
            await ReadAsync(db, $"SELECT MAX(\"DeliverySeq\") FROM {Rows} WHERE \"Subscription\" = @p0",
                [subscription], r => newest = r.IsDBNull(0) ? 0 : r.GetInt64(0), cancellationToken).ConfigureAwait(false);

            long? oldest = null;
            foreach (var state in (DeliveryState[])[DeliveryState.Pending, DeliveryState.Failed])
            {
                await ReadAsync(db,
                    $"SELECT MIN(\"DeliverySeq\") FROM {Rows} WHERE \"Subscription\" = @p0 AND \"State\" = {Literal(state)}",
                    [subscription], r => oldest = r.IsDBNull(0) ? oldest : Math.Min(oldest ?? long.MaxValue, r.GetInt64(0)), cancellationToken).ConfigureAwait(false);
            }

            return oldest is { } first ? first - 1 : newest;
        }
    }

    // ---------------------------------------------------------------- retention

    /// <summary>
    /// Where a retention pass ends: the sequence of the newest delivery received before <paramref name="before"/> (0:
    /// none). Read once per pass, backwards along the index on the receipt time.
    /// </summary>
    public async Task<long> PruneHorizonAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            long horizon = 0;
            await ReadAsync(db, $"SELECT \"Id\" FROM {Inbox} WHERE \"ReceivedAt\" < @p0 ORDER BY \"ReceivedAt\" DESC LIMIT 1",
                [Time(before)], r => horizon = r.GetInt64(0), cancellationToken).ConfigureAwait(false);
            return horizon;
        }
    }

    /// <summary>
    /// One bounded step of a retention pass: deletes up to <paramref name="batchSize"/> deliveries received before
    /// <paramref name="before"/> that every subscription is done with (no row in a state other than settled), taken in
    /// sequence order after <paramref name="after"/> and up to <paramref name="horizon"/>; then — for deliveries received
    /// before <paramref name="maxBefore"/> — marks what is still owed <c>expired</c> and deletes those too. A short
    /// transaction each, so the write lock is never held for long. The cursor is why a pass ends: deliveries still owed
    /// to a paused subscription are passed over once per pass, not once per step (with a million of them ahead, every
    /// step would read them all again). Returns how many deliveries were pruned; per subscription how many it was still
    /// owed (expired: the rows go with their delivery, so this is the only count of them); and where the next step
    /// starts, or null when the pass is over.
    /// </summary>
    public async Task<PruneStep> PruneAsync(DateTimeOffset before, DateTimeOffset maxBefore, int batchSize, long after, long horizon,
        CancellationToken cancellationToken)
    {
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var done = new List<long>();
            await ReadAsync(db,
                $"SELECT d.\"Id\" FROM {Inbox} d WHERE d.\"Id\" > @p1 AND d.\"Id\" <= @p2 AND d.\"ReceivedAt\" < @p0 AND d.\"FannedOut\" " +
                $"AND NOT EXISTS (SELECT 1 FROM {Rows} s WHERE s.\"DeliverySeq\" = d.\"Id\" AND s.\"State\" NOT IN ({Literals(Settled)})) " +
                $"ORDER BY d.\"Id\" LIMIT {batchSize}",
                [Time(before), after, horizon], r => done.Add(r.GetInt64(0)), cancellationToken).ConfigureAwait(false);
            var pruned = await DeleteAsync(db, done, cancellationToken).ConfigureAwait(false);

            var owed = new List<long>();
            await ReadAsync(db,
                $"SELECT d.\"Id\" FROM {Inbox} d WHERE d.\"ReceivedAt\" < @p0 ORDER BY d.\"ReceivedAt\" LIMIT {batchSize}",
                [Time(maxBefore)], r => owed.Add(r.GetInt64(0)), cancellationToken).ConfigureAwait(false);
            var expired = new Dictionary<string, int>(StringComparer.Ordinal);
            if (owed.Count > 0)
            {
                var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    await ReadAsync(db,
                        $"UPDATE {Rows} SET \"State\" = {Literal(DeliveryState.Expired)}, \"LeaseOwner\" = NULL, \"LeaseExpiresAt\" = NULL " +
                        $"WHERE \"DeliverySeq\" IN ({Numbers(owed)}) AND \"State\" NOT IN ({Literals(Settled)}) RETURNING \"Subscription\"", [],
                        r => expired[r.GetString(0)] = expired.GetValueOrDefault(r.GetString(0)) + 1, cancellationToken).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                pruned += await DeleteAsync(db, owed, cancellationToken).ConfigureAwait(false);
            }

            long? next = done.Count == batchSize ? done[^1] : owed.Count == batchSize ? after : null;
            return new PruneStep(pruned, expired, next);
        }
    }

    /// <summary>What one step of retention did, and where the next one starts (null: the pass is over).</summary>
    public sealed record PruneStep(int Pruned, IReadOnlyDictionary<string, int> Expired, long? Next);

    /// <summary>How many rows per subscription retention marked expired and removed, counted before they go.</summary>
    private static async Task<int> DeleteAsync(HubgateDbContext db, List<long> sequences, CancellationToken cancellationToken)
    {
        if (sequences.Count == 0)
        {
            return 0;
        }

        var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var ids = Numbers(sequences);
            await ExecuteAsync(db, $"DELETE FROM {Rows} WHERE \"DeliverySeq\" IN ({ids})", [], cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(db, $"DELETE FROM webhook_delivery_bodies WHERE \"DeliveryPk\" IN ({ids})", [], cancellationToken).ConfigureAwait(false);
            var deleted = await ExecuteAsync(db, $"DELETE FROM {Inbox} WHERE \"Id\" IN ({ids})", [], cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return deleted;
        }
    }

    // ---------------------------------------------------------------- plumbing

    public void Dispose() => _fanOut.Dispose();

    /// <summary>
    /// Runs <paramref name="write"/> in a transaction of subscription state (fan-out rows, claims, leases, outcomes) and
    /// commits it: on SQLite the transaction queues for the write lock behind the process's other writers
    /// (<see cref="SqliteWriteGate"/>) and commits without an fsync of its own (<see cref="RelaxCommitsAsync"/>).
    /// </summary>
    private Task<T> InStateTransactionAsync<T>(HubgateDbContext db, Func<Task<T>> write, CancellationToken cancellationToken) =>
        WithRelaxedCommitsAsync(db, async () =>
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var result = await write().ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return result;
            }
        }, cancellationToken);

    /// <summary>
    /// Runs the built-in subscription's handlers for one delivery with their commits relaxed like the state's (SQLite:
    /// <c>synchronous = NORMAL</c> on <paramref name="db"/>'s connection, held open for the run, and <c>FULL</c> again
    /// after it): the model is derived from the stored delivery, and a power cut that loses a model commit loses the
    /// outcome committed after it too (WAL keeps a prefix of the commits), so the delivery is attempted again and its
    /// idempotent handlers write it again. docs/design/subscriptions.md, "Durability of state commits".
    /// </summary>
    internal async Task<T> WithRelaxedCommitsAsync<T>(HubgateDbContext db, Func<Task<T>> run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(run);
        if (!RelaxesCommits)
        {
            return await run().ConfigureAwait(false);
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RelaxCommitsAsync(db, cancellationToken).ConfigureAwait(false);
            try
            {
                return await run().ConfigureAwait(false);
            }
            finally
            {
                await DurableCommitsAsync(db, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether <see cref="RelaxCommitsAsync"/> changes anything (SQLite).</summary>
    internal virtual bool RelaxesCommits => false;

    /// <summary>
    /// Before a transaction of subscription state only: its commit need not reach the disk before it returns (SQLite:
    /// <c>synchronous = NORMAL</c>; PostgreSQL: unchanged). Losing such a commit to a power cut only means deliveries
    /// are attempted again: docs/design/subscriptions.md, "Durability of state commits".
    /// </summary>
    internal virtual Task RelaxCommitsAsync(HubgateDbContext db, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>SQLite's delivery log: moves its high-water mark to <paramref name="through"/> (never back), in the transaction of <paramref name="db"/>.</summary>
    internal virtual Task MarkIndexedAsync(HubgateDbContext db, long through, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Only SQLite keeps a delivery log.");

    /// <summary>
    /// Reads the bodies of <paramref name="deliveries"/> that are in the delivery log (SQLite) from it; the others
    /// came with their rows. Throws <see cref="InvalidDataException"/> for a record that cannot be read.
    /// </summary>
    public virtual Task FillBodiesAsync(IEnumerable<WebhookDeliveryEntity> deliveries, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// SQLite's delivery log: deletes the sealed segments that no stored delivery reads any more (retention pruned their
    /// rows) and that the index covers. Returns how many. Segments go whole and in order, so the oldest stored delivery
    /// holds back every segment after its own: the bodies of deliveries received before <paramref name="moveBefore"/>
    /// that are still stored (owed to a paused or failing subscription, up to <c>Webhooks:MaxRetention</c>) are first
    /// moved into the database, a batch per call, in a synced commit.
    /// </summary>
    public virtual Task<int> TrimLogAsync(DateTimeOffset moveBefore, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>
    /// Every commit on this connection reaches the disk before it returns (SQLite: <c>synchronous = FULL</c>, the
    /// connection's setting from <see cref="SqlitePragmas"/>): after each transaction of subscription state, and before
    /// each of the inbox's, which must be durable before ingest answers.
    /// </summary>
    internal virtual Task DurableCommitsAsync(HubgateDbContext db, CancellationToken cancellationToken) => Task.CompletedTask;

    private static DbCommand Command(HubgateDbContext db, string sql, object[] parameters)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@p" + i.ToString(CultureInfo.InvariantCulture);
            parameter.Value = parameters[i];
            command.Parameters.Add(parameter);
        }

        return command;
    }

    protected static async Task ReadAsync(HubgateDbContext db, string sql, object[] parameters, Action<DbDataReader> row, CancellationToken cancellationToken)
    {
        var opened = db.Database.GetDbConnection().State != System.Data.ConnectionState.Open;
        if (opened)
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }

        var command = Command(db, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    row(reader);
                }
            }
        }
    }

    protected static async Task<int> ExecuteAsync(HubgateDbContext db, string sql, object[] parameters, CancellationToken cancellationToken)
    {
        var command = Command(db, sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>A subscription as the fan-out sees it: its name, filter and ordering.</summary>
internal sealed record FanOutTarget(string Name, SubscriptionFilter Filter, SubscriptionOrdering Ordering);

/// <summary>A row just claimed: its delivery's sequence, and the attempt counts after the claim.</summary>
internal readonly record struct Claimed(long Seq, int Attempts, int AttemptsAtReplay)
{
    /// <summary>Which attempt this is since the last replay (1-based).</summary>
    public int SinceReplay => Attempts - AttemptsAtReplay;
}

/// <summary>SQLite: times as sortable integers; one host owns the file, so rows left processing are due at start.</summary>
internal sealed class SqliteDeliveryStore(IDbContextFactory<HubgateDbContext> databases, DeliveryLog log) : DeliveryStore(databases)
{
    internal override async Task MarkIndexedAsync(HubgateDbContext db, long through, CancellationToken cancellationToken) =>
        await ExecuteAsync(db,
            "INSERT INTO webhook_log (\"Id\", \"IndexedThrough\") VALUES (1, @p0) " +
            "ON CONFLICT (\"Id\") DO UPDATE SET \"IndexedThrough\" = max(\"IndexedThrough\", excluded.\"IndexedThrough\")",
            [through], cancellationToken).ConfigureAwait(false);

    public override async Task FillBodiesAsync(IEnumerable<WebhookDeliveryEntity> deliveries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        foreach (var delivery in deliveries)
        {
            if (delivery is { LogSequence: { } sequence, LogOffset: { } offset })
            {
                if (log.Directory is null)
                {
                    throw new InvalidDataException($"Delivery {delivery.DeliveryId} has its body in the delivery log, which this database has none of.");
                }

                delivery.Body = await log.ReadBodyAsync(new LogPosition(sequence, offset), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public override async Task<int> TrimLogAsync(DateTimeOffset moveBefore, CancellationToken cancellationToken)
    {
        if (log.Directory is null || !Directory.Exists(log.Directory))
        {
            return 0;
        }

        long indexed = 0;
        List<(long Pk, DateTimeOffset ReceivedAt, LogPosition Position)> oldest;
        var db = await Databases.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            oldest = await OldestLoggedAsync(db, 1, cancellationToken).ConfigureAwait(false);
            if (oldest is [{ ReceivedAt: var receivedAt }] && receivedAt < moveBefore)
            {
                var moving = (await OldestLoggedAsync(db, MoveBatch, cancellationToken).ConfigureAwait(false))
                    .TakeWhile(r => r.ReceivedAt < moveBefore).ToList();
                await MoveIntoDatabaseAsync(db, moving, cancellationToken).ConfigureAwait(false);
                oldest = await OldestLoggedAsync(db, 1, cancellationToken).ConfigureAwait(false);
            }

            await ReadAsync(db, "SELECT \"IndexedThrough\" FROM webhook_log WHERE \"Id\" = 1", [], r => indexed = r.GetInt64(0), cancellationToken)
                .ConfigureAwait(false);
        }

        return log.DeleteSegmentsBefore(Math.Min(oldest is [var first] ? first.Position.Sequence : long.MaxValue, indexed + 1));
    }

    /// <summary>
    /// The <paramref name="count"/> oldest stored deliveries whose bodies are in the log, along the primary key: rows are
    /// written in log order, so the first holds the smallest sequence still read. Rows from before the log are passed over.
    /// </summary>
    private static async Task<List<(long Pk, DateTimeOffset ReceivedAt, LogPosition Position)>> OldestLoggedAsync(HubgateDbContext db, int count,
        CancellationToken cancellationToken)
    {
        var rows = new List<(long Pk, DateTimeOffset ReceivedAt, LogPosition Position)>(count);
        await ReadAsync(db,
            $"SELECT d.\"Id\", d.\"ReceivedAt\", b.\"LogSequence\", b.\"LogOffset\" FROM {Inbox} d JOIN webhook_delivery_bodies b ON b.\"DeliveryPk\" = d.\"Id\" " +
            $"WHERE b.\"LogSequence\" IS NOT NULL ORDER BY d.\"Id\" LIMIT {count}",
            [], r => rows.Add((r.GetInt64(0), (DateTimeOffset)Converter.ConvertFromProvider(r.GetInt64(1))!, new LogPosition(r.GetInt64(2), r.GetInt64(3)))),
            cancellationToken).ConfigureAwait(false);
        return rows;
    }

    /// <summary>How many old deliveries' bodies one trim moves from the log into the database.</summary>
    private const int MoveBatch = 500;

    /// <summary>
    /// Copies the bodies of <paramref name="rows"/> from the log into their rows (compressed as the database keeps
    /// them) and clears their log positions, in one transaction committed with a sync: the segments they were in are
    /// deleted after it, so a power cut must not take the commit back. A row whose position changed meanwhile is left.
    /// </summary>
    private async Task MoveIntoDatabaseAsync(HubgateDbContext db, List<(long Pk, DateTimeOffset ReceivedAt, LogPosition Position)> rows,
        CancellationToken cancellationToken)
    {
        var bodies = new List<byte[]>(rows.Count);
        foreach (var row in rows)
        {
            bodies.Add(BodyCodec.Encode(await log.ReadBodyAsync(row.Position, cancellationToken).ConfigureAwait(false)));
        }

        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await DurableCommitsAsync(db, cancellationToken).ConfigureAwait(false);
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            for (var i = 0; i < rows.Count; i++)
            {
                await ExecuteAsync(db,
                    "UPDATE webhook_delivery_bodies SET \"Body\" = @p0, \"LogSequence\" = NULL, \"LogOffset\" = NULL " +
                    "WHERE \"DeliveryPk\" = @p1 AND \"LogSequence\" = @p2",
                    [bodies[i], rows[i].Pk, rows[i].Position.Sequence], cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter Converter = new();

    protected override object Time(DateTimeOffset value) => Converter.ConvertToProvider(value)!;

    protected override string LockForClaim => "";

    protected override string? FanOutLock => null;

    protected override string True => "1";

    public override bool ReclaimsAtStart => true;

    internal override bool RelaxesCommits => true;

    internal override async Task RelaxCommitsAsync(HubgateDbContext db, CancellationToken cancellationToken) =>
        await ExecuteAsync(db, "PRAGMA synchronous = NORMAL", [], cancellationToken).ConfigureAwait(false);

    internal override async Task DurableCommitsAsync(HubgateDbContext db, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(db, "PRAGMA synchronous = FULL", [], cancellationToken).ConfigureAwait(false);
        }
        catch when (db.Database.GetDbConnection() is SqliteConnection connection)
        {
            // The setting belongs to the native connection, which the pool would hand to the next user still relaxed:
            // the pool drops it instead.
            SqliteConnection.ClearPool(connection);
            throw;
        }
    }
}

/// <summary>PostgreSQL, several replicas: claims lock the rows they read and skip those another replica is claiming.</summary>
internal sealed class PostgresDeliveryStore(IDbContextFactory<HubgateDbContext> databases) : DeliveryStore(databases)
{
    protected override object Time(DateTimeOffset value) => value.ToUniversalTime();

    protected override string LockForClaim => "FOR UPDATE SKIP LOCKED";

    /// <summary>Any constant shared by every replica; released at commit.</summary>
    protected override string? FanOutLock => "SELECT pg_advisory_xact_lock(4812736501)";

    protected override string? InboxLock => "SELECT pg_advisory_xact_lock(4812736502)";

    protected override string True => "TRUE";

    public override bool ReclaimsAtStart => false;
}
