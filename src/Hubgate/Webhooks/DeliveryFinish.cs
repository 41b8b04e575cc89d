using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Hubgate.Webhooks;

/// <summary>
/// The worker's record of a batch's outcomes: one prepared <c>UPDATE … WHERE Id = … AND LeaseOwner = …</c> re-bound
/// per delivery on SQLite, one <see cref="System.Data.Common.DbBatch"/> (one round trip) on PostgreSQL, in the caller's
/// transaction. A row whose lease another worker took over does not match and is reported as not recorded. It replaces
/// one EF Core <c>ExecuteUpdate</c> per delivery, whose expression-tree work was most of the cost (measured in
/// docs/benchmarks.md). Column names and value conversions come from the EF Core model.
/// </summary>
internal static class DeliveryFinish
{
    private static readonly ConditionalWeakTable<IModel, Plan> Plans = [];

    /// <summary>
    /// Writes each row's <c>State</c>, <c>NextAttemptAt</c>, <c>ProcessedAt</c>, <c>LastError</c> and <c>IgnoredReason</c>
    /// and gives up its lease, where <paramref name="owner"/> still holds it. Returns, per row, whether it was written.
    /// </summary>
    public static async Task<bool[]> RecordAsync(HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows, string owner,
        CancellationToken cancellationToken)
    {
        var plan = Plans.GetValue(db.Model, Build);
        var recorded = new bool[rows.Count];
        await BulkInsert.ExecutePerRowAsync(db, plan.Sql, plan.Columns, rows, new BulkInsert.DbParameterValue("@owner", owner),
            async (reader, r, ct) => recorded[r] = await reader.ReadAsync(ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
        return recorded;
    }

    private static Plan Build(IModel model)
    {
        var entity = model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        IProperty Property(string name) => entity.FindProperty(name)!;
        string Column(string name) => $"\"{Property(name).GetColumnName(table)}\"";
        string[] written =
        [
            nameof(WebhookDeliveryEntity.State), nameof(WebhookDeliveryEntity.NextAttemptAt), nameof(WebhookDeliveryEntity.ProcessedAt),
            nameof(WebhookDeliveryEntity.LastError), nameof(WebhookDeliveryEntity.IgnoredReason),
        ];
        var id = written.Length;
        var sql =
            $"UPDATE \"{table.Name}\" SET {string.Join(", ", written.Select((name, i) => $"{Column(name)} = @p{i}"))}, " +
            $"{Column(nameof(WebhookDeliveryEntity.LeaseOwner))} = NULL, {Column(nameof(WebhookDeliveryEntity.LeaseExpiresAt))} = NULL " +
            $"WHERE {Column(nameof(WebhookDeliveryEntity.Id))} = @p{id} AND {Column(nameof(WebhookDeliveryEntity.LeaseOwner))} = @owner " +
            $"RETURNING {Column(nameof(WebhookDeliveryEntity.Id))}";
        return new Plan(sql, [.. written.Append(nameof(WebhookDeliveryEntity.Id)).Select(name => BulkInsert.ColumnOf(Property(name)))]);
    }

    private sealed record Plan(string Sql, BulkInsert.Column[] Columns);
}
