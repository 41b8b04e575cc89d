using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Webhooks;

/// <summary>
/// The inbox's one statement per delivery, prepared once per batch: insert unless the delivery id is stored
/// (<c>ON CONFLICT DO NOTHING</c>, so a duplicate — in the batch, in the table, or from another replica at the same
/// moment — is found by the unique index itself), with the earliest delivery of the same body inside the replay window
/// filled in by a sub-select, <c>RETURNING</c> what was written. No reads before the write: a batch is
/// <c>BEGIN; INSERT × n; COMMIT</c>. Column names and value conversions come from the EF Core model (both providers).
/// </summary>
internal static class DeliveryInsert
{
    private static readonly ConditionalWeakTable<IModel, Plan> Plans = [];

    /// <summary>What one row came to: stored (with its sequence and possible replay) or a duplicate.</summary>
    public readonly record struct Result(bool Stored, long Id, string? PossibleReplayOf);

    public static async Task<Result[]> InsertAsync(HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows, DateTimeOffset since,
        CancellationToken cancellationToken)
    {
        var plan = Plans.GetValue(db.Model, Build);
        var results = new Result[rows.Count];
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var sinceValue = plan.SinceConverter is { } c ? c.ConvertToProvider(since)! : since;
                await BulkInsert.ExecutePerRowAsync(db, plan.Sql, plan.Columns, rows, new BulkInsert.DbParameterValue("@since", sinceValue),
                    async (reader, r, ct) => results[r] = await reader.ReadAsync(ct).ConfigureAwait(false)
                        ? new Result(true, Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                            reader.IsDBNull(1) ? null : reader.GetString(1))
                        : new Result(false, 0, null),
                    cancellationToken).ConfigureAwait(false);

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }

        return results;
    }

    private static Plan Build(IModel model)
    {
        var entity = model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        string Column(string property) => $"\"{entity.FindProperty(property)!.GetColumnName(table)}\"";

        var properties = entity.GetProperties()
            .Where(p => !p.IsPrimaryKey() && p.Name != nameof(WebhookDeliveryEntity.PossibleReplayOf))
            .ToList();
        var hash = properties.FindIndex(p => p.Name == nameof(WebhookDeliveryEntity.BodySha256));
        var replayOf =
            $"(SELECT {Column(nameof(WebhookDeliveryEntity.DeliveryId))} FROM \"{table.Name}\" " +
            $"WHERE {Column(nameof(WebhookDeliveryEntity.BodySha256))} = @p{hash} AND {Column(nameof(WebhookDeliveryEntity.ReceivedAt))} >= @since " +
            $"ORDER BY {Column(nameof(WebhookDeliveryEntity.BodySha256))}, {Column(nameof(WebhookDeliveryEntity.ReceivedAt))} LIMIT 1)";
        var sql =
            $"INSERT INTO \"{table.Name}\" ({string.Join(", ", properties.Select(p => $"\"{p.GetColumnName(table)}\""))}, " +
            $"{Column(nameof(WebhookDeliveryEntity.PossibleReplayOf))}) " +
            $"VALUES ({string.Join(", ", properties.Select((_, i) => $"@p{i}"))}, {replayOf}) " +
            $"ON CONFLICT ({Column(nameof(WebhookDeliveryEntity.DeliveryId))}) DO NOTHING " +
            $"RETURNING {Column(nameof(WebhookDeliveryEntity.Id))}, {Column(nameof(WebhookDeliveryEntity.PossibleReplayOf))}";
        return new Plan(sql, [.. properties.Select(BulkInsert.ColumnOf)],
            entity.FindProperty(nameof(WebhookDeliveryEntity.ReceivedAt))!.GetTypeMapping().Converter);
    }

    private sealed record Plan(string Sql, BulkInsert.Column[] Columns, ValueConverter? SinceConverter);
}
