using System.Data.Common;
using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Webhooks;

/// <summary>
/// Inserts a batch of deliveries in one transaction with one prepared command, bypassing the change tracker: the
/// ingest hot path. The statement, column names and value conversions come from the EF Core model, so it follows
/// the schema and works on both providers. Measured: EF's SaveChanges cost about ten times the CPU per row here.
/// </summary>
internal static class DeliveryBulkInsert
{
    /// <summary>The statement and its columns, worked out once per model (one per database provider).</summary>
    private static readonly ConditionalWeakTable<IModel, Plan> Plans = [];

    public static async Task InsertAsync(HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows, CancellationToken cancellationToken)
    {
        var (sql, columns) = Plans.GetValue(db.Model, Build);
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var command = db.Database.GetDbConnection().CreateCommand();
                await using (command.ConfigureAwait(false))
                {
                    command.Transaction = transaction.GetDbTransaction();
                    command.CommandText = sql;
                    var parameters = new DbParameter[columns.Length];
                    for (var i = 0; i < columns.Length; i++)
                    {
                        parameters[i] = command.CreateParameter();
                        parameters[i].ParameterName = $"@p{i}";
                        command.Parameters.Add(parameters[i]);
                    }

                    foreach (var row in rows)
                    {
                        for (var i = 0; i < columns.Length; i++)
                        {
                            var value = columns[i].Getter.GetClrValue(row);
                            if (value is not null && columns[i].Converter is { } converter)
                            {
                                value = converter.ConvertToProvider(value);
                            }

                            parameters[i].Value = value ?? DBNull.Value;
                        }

                        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static Plan Build(IModel model)
    {
        var entity = model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var properties = entity.GetProperties().Where(p => !p.IsPrimaryKey() || p.ValueGenerated == ValueGenerated.Never).ToList();
        var sql = $"INSERT INTO \"{table.Name}\" ({string.Join(", ", properties.Select(p => $"\"{p.GetColumnName(table)}\""))}) " +
                  $"VALUES ({string.Join(", ", properties.Select((_, i) => $"@p{i}"))})";
        return new Plan(sql, [.. properties.Select(p => new Column(p.GetGetter(), p.GetTypeMapping().Converter))]);
    }

    private sealed record Plan(string Sql, Column[] Columns);

    private sealed record Column(IClrPropertyGetter Getter, ValueConverter? Converter);
}
