using System.Data.Common;
using System.Globalization;
using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Store.Log;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Webhooks;

/// <summary>
/// The inbox's statements per delivery, prepared once per batch: insert unless the App's delivery id is stored
/// (<c>ON CONFLICT DO NOTHING</c>, so a duplicate — in the batch, in the table, or from another replica at the same
/// moment — is found by the unique index on (App, delivery id) itself), with the App's earliest delivery of the same body inside the replay window
/// filled in by a sub-select, <c>RETURNING</c> what was written; then the body into its own table under the new
/// sequence number. No reads before the writes: a batch is <c>BEGIN; INSERT × 2n; COMMIT</c>, plus — only when some
/// rows were already stored — one conditional update each for them (<see cref="DeliveryStore.RequeueAsync(HubgateDbContext, string, string, string?, IReadOnlyList{DeliveryState}, DateTimeOffset, CancellationToken)"/>): GitHub's redelivery
/// of a delivery that failed or died here puts it back in the queue, in the same transaction. On PostgreSQL both
/// inserts are one statement (a data-modifying <c>WITH</c>) and the batch one round trip; on SQLite a large body is
/// streamed into a <c>zeroblob</c> through SQLite's blob I/O, so no second copy of it is ever built in memory.
/// Column names and value conversions come from the EF Core model (both providers).
/// </summary>
internal static class DeliveryInsert
{
    /// <summary>
    /// Bodies at least this large are streamed into SQLite rather than bound as a parameter (which copies). The codec
    /// leaves bodies of that size as they are, so the threshold is its own.
    /// </summary>
    internal const int StreamBodiesFrom = BodyCodec.CompressBelow;

    private static readonly ConditionalWeakTable<IModel, Plan> Plans = [];

    /// <summary>
    /// What one row came to: stored (with its sequence and possible replay), or already stored — and then
    /// <paramref name="Requeued"/> when it was failed or dead and is queued again (<paramref name="Id"/> is its sequence).
    /// </summary>
    public readonly record struct Result(bool Stored, long Id, string? PossibleReplayOf, bool Requeued = false);

    /// <summary>Inserts <paramref name="rows"/> in one transaction; <paramref name="storedBodies"/> holds each row's body as the
    /// database keeps it (on SQLite, <see cref="BodyCodec.Encode"/>, done by the caller).</summary>
    /// <remarks>
    /// A row with a position in <paramref name="positions"/> (SQLite's delivery log) has its body in the log already,
    /// durable: its body column is left empty and its record's position written instead, and the log's high-water mark
    /// (<see cref="WebhookLogEntity"/>) moves to <paramref name="indexedThrough"/> (default: the last position) in the
    /// same transaction. When every row has one, the commit needs no sync of its own — what a crash takes back is indexed
    /// again from the log.
    /// </remarks>
    public static async Task<Result[]> InsertAsync(DeliveryStore store, HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows,
        IReadOnlyList<byte[]> storedBodies, DateTimeOffset since, IReadOnlyList<LogPosition?>? positions, CancellationToken cancellationToken,
        long? indexedThrough = null)
    {
        var plan = Plans.GetValue(db.Model, Build);
        var results = new Result[rows.Count];
        var sinceValue = plan.SinceConverter is { } c ? c.ConvertToProvider(since)! : since;
        var relaxed = positions is not null && positions.All(p => p is not null);
        indexedThrough ??= positions?.Max(p => p?.Sequence);
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!relaxed)
            {
                // Durable before ingest answers, whatever the pooled connection was last used for.
                await store.DurableCommitsAsync(db, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await store.RelaxCommitsAsync(db, cancellationToken).ConfigureAwait(false);
            }

            IDbContextTransaction transaction;
            using (SqliteWriteGate.First())
            {
                // Ahead of the subscriptions' state transactions waiting at the gate: GitHub's answer waits for this one.
                transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (transaction.ConfigureAwait(false))
            {
                await store.LockInboxAsync(db, cancellationToken).ConfigureAwait(false);
                if (db.Database.GetDbConnection() is SqliteConnection sqlite)
                {
                    await InsertIntoSqliteAsync(db, sqlite, plan, rows, storedBodies, positions, sinceValue, results, cancellationToken).ConfigureAwait(false);
                    if (indexedThrough is { } through)
                    {
                        await store.MarkIndexedAsync(db, through, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    await BulkInsert.ExecutePerRowAsync(db, plan.DeliveryAndBodySql, [.. plan.Columns, plan.Body], rows,
                        new BulkInsert.DbParameterValue("@since", sinceValue),
                        async (reader, r, ct) => results[r] = await ReadAsync(reader, ct).ConfigureAwait(false),
                        cancellationToken).ConfigureAwait(false);
                }

                await RequeueRedeliveriesAsync(store, db, rows, results, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (relaxed)
            {
                await store.DurableCommitsAsync(db, CancellationToken.None).ConfigureAwait(false);
            }

            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>
    /// The rows already stored are GitHub's redeliveries (or retries) of them: those that failed or died here are queued
    /// again (their rows are first in the batch with that id; a second copy in the batch finds it pending).
    /// </summary>
    private static async Task RequeueRedeliveriesAsync(DeliveryStore store, HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows,
        Result[] results, CancellationToken cancellationToken)
    {
        for (var r = 0; r < rows.Count; r++)
        {
            if (results[r].Stored)
            {
                continue;
            }

            if (await store.RequeueAsync(db, rows[r].App, rows[r].DeliveryId, subscription: null, DeliveryStore.AfterFailure, rows[r].ReceivedAt,
                    cancellationToken).ConfigureAwait(false) is { } id)
            {
                results[r] = new Result(false, id, null, Requeued: true);
            }
        }
    }

    private static async Task InsertIntoSqliteAsync(HubgateDbContext db, SqliteConnection connection, Plan plan,
        IReadOnlyList<WebhookDeliveryEntity> rows, IReadOnlyList<byte[]> storedBodies, IReadOnlyList<LogPosition?>? positions, object since,
        Result[] results, CancellationToken cancellationToken)
    {
        var (delivery, parameters) = BulkInsert.CreateCommand(db, plan.DeliverySql, plan.Columns.Length);
        var (body, bodyParameters) = BulkInsert.CreateCommand(db, plan.BodySql, 2);
        var (zeroblob, zeroblobParameters) = BulkInsert.CreateCommand(db, plan.ZeroblobSql, 2);
        var (logged, loggedParameters) = BulkInsert.CreateCommand(db, plan.LoggedBodySql, 3);
        await using (delivery.ConfigureAwait(false))
        await using (body.ConfigureAwait(false))
        await using (zeroblob.ConfigureAwait(false))
        await using (logged.ConfigureAwait(false))
        {
            BulkInsert.AddParameter(delivery, "@since", since);

            for (var r = 0; r < rows.Count; r++)
            {
                var row = rows[r];
                var stored = storedBodies[r];
                BulkInsert.Bind(parameters, plan.Columns, row);
                var reader = await delivery.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    results[r] = await ReadAsync(reader, cancellationToken).ConfigureAwait(false);
                }

                if (!results[r].Stored)
                {
                    continue;
                }

                if (positions?[r] is { } position)
                {
                    loggedParameters[0].Value = results[r].Id;
                    loggedParameters[1].Value = position.Sequence;
                    loggedParameters[2].Value = position.Offset;
                    await logged.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (stored.Length < StreamBodiesFrom)
                {
                    bodyParameters[0].Value = results[r].Id;
                    bodyParameters[1].Value = stored;
                    await body.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                // A zeroblob as the row's last column is only a length until written: the bytes go from the request's
                // buffer through SQLite's page cache, page by page.
                zeroblobParameters[0].Value = results[r].Id;
                zeroblobParameters[1].Value = stored.Length;
                await zeroblob.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                using var blob = new SqliteBlob(connection, plan.BodyTable, plan.BodyColumn, results[r].Id);
                blob.Write(stored);
            }
        }
    }

    private static async Task<Result> ReadAsync(DbDataReader reader, CancellationToken cancellationToken) =>
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new Result(true, Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1))
            : new Result(false, 0, null);

    private static Plan Build(IModel model)
    {
        var entity = model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var bodyProperty = entity.FindProperty(nameof(WebhookDeliveryEntity.Body))!;
        var bodyTable = entity.GetMappingFragments().Select(f => f.StoreObject).Single(s => bodyProperty.GetColumnName(s) is not null);
        string Column(string property) => $"\"{entity.FindProperty(property)!.GetColumnName(table)}\"";
        var bodyColumn = bodyProperty.GetColumnName(bodyTable)!;
        var bodyKey = $"\"{entity.FindPrimaryKey()!.Properties[0].GetColumnName(bodyTable)}\"";

        var properties = entity.GetProperties()
            .Where(p => !p.IsPrimaryKey() && p.GetColumnName(table) is not null && p.Name != nameof(WebhookDeliveryEntity.PossibleReplayOf))
            .ToList();
        var hash = properties.FindIndex(p => p.Name == nameof(WebhookDeliveryEntity.BodySha256));
        var app = properties.FindIndex(p => p.Name == nameof(WebhookDeliveryEntity.App));
        var replayOf =
            $"(SELECT {Column(nameof(WebhookDeliveryEntity.DeliveryId))} FROM \"{table.Name}\" " +
            $"WHERE {Column(nameof(WebhookDeliveryEntity.BodySha256))} = @p{hash} AND {Column(nameof(WebhookDeliveryEntity.ReceivedAt))} >= @since " +
            $"AND {Column(nameof(WebhookDeliveryEntity.App))} = @p{app} " +
            $"ORDER BY {Column(nameof(WebhookDeliveryEntity.BodySha256))}, {Column(nameof(WebhookDeliveryEntity.ReceivedAt))} LIMIT 1)";
        var returning = $"{Column(nameof(WebhookDeliveryEntity.Id))}, {Column(nameof(WebhookDeliveryEntity.PossibleReplayOf))}";
        var delivery =
            $"INSERT INTO \"{table.Name}\" ({string.Join(", ", properties.Select(p => $"\"{p.GetColumnName(table)}\""))}, " +
            $"{Column(nameof(WebhookDeliveryEntity.PossibleReplayOf))}) " +
            $"VALUES ({string.Join(", ", properties.Select((_, i) => $"@p{i}"))}, {replayOf}) " +
            $"ON CONFLICT ({Column(nameof(WebhookDeliveryEntity.App))}, {Column(nameof(WebhookDeliveryEntity.DeliveryId))}) DO NOTHING " +
            $"RETURNING {returning}";
        var deliveryAndBody =
            $"WITH stored AS ({delivery}), " +
            $"body AS (INSERT INTO \"{bodyTable.Name}\" ({bodyKey}, \"{bodyColumn}\") SELECT {Column(nameof(WebhookDeliveryEntity.Id))}, @p{properties.Count} FROM stored) " +
            $"SELECT {returning} FROM stored";
        return new Plan(
            delivery,
            deliveryAndBody,
            $"INSERT INTO \"{bodyTable.Name}\" ({bodyKey}, \"{bodyColumn}\") VALUES (@p0, @p1)",
            $"INSERT INTO \"{bodyTable.Name}\" ({bodyKey}, \"{bodyColumn}\") VALUES (@p0, zeroblob(@p1))",
            $"INSERT INTO \"{bodyTable.Name}\" ({bodyKey}, \"{bodyColumn}\", \"{entity.FindProperty(nameof(WebhookDeliveryEntity.LogSequence))!.GetColumnName(bodyTable)}\", " +
            $"\"{entity.FindProperty(nameof(WebhookDeliveryEntity.LogOffset))!.GetColumnName(bodyTable)}\") VALUES (@p0, X'', @p1, @p2)",
            bodyTable.Name,
            bodyColumn,
            [.. properties.Select(BulkInsert.ColumnOf)],
            BulkInsert.ColumnOf(bodyProperty),
            entity.FindProperty(nameof(WebhookDeliveryEntity.ReceivedAt))!.GetTypeMapping().Converter);
    }

    private sealed record Plan(
        string DeliverySql,
        string DeliveryAndBodySql,
        string BodySql,
        string ZeroblobSql,
        string LoggedBodySql,
        string BodyTable,
        string BodyColumn,
        BulkInsert.Column[] Columns,
        BulkInsert.Column Body,
        ValueConverter? SinceConverter);
}
