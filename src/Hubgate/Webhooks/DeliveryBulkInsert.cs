using System.Data.Common;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Hubgate.Webhooks;

/// <summary>
/// Inserts a batch of deliveries in one transaction with one prepared command, bypassing the change tracker: the
/// ingest hot path. The statement, column names and value conversions come from the EF Core model, so it follows
/// the schema and works on both providers. Measured: EF's SaveChanges cost about ten times the CPU per row here.
/// </summary>
internal static class DeliveryBulkInsert
{
    public static async Task InsertAsync(HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows, CancellationToken cancellationToken)
    {
        var entity = db.Model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var columns = entity.GetProperties().Where(p => p.ValueGenerated == ValueGenerated.Never || !p.IsPrimaryKey()).ToList();

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
                    command.CommandText =
                        $"INSERT INTO \"{table.Name}\" ({string.Join(", ", columns.Select(c => $"\"{c.GetColumnName(table)}\""))}) " +
                        $"VALUES ({string.Join(", ", columns.Select((_, i) => $"@p{i}"))})";
                    var parameters = new DbParameter[columns.Count];
                    for (var i = 0; i < columns.Count; i++)
                    {
                        parameters[i] = command.CreateParameter();
                        parameters[i].ParameterName = $"@p{i}";
                        command.Parameters.Add(parameters[i]);
                    }

                    foreach (var row in rows)
                    {
                        for (var i = 0; i < columns.Count; i++)
                        {
                            var value = columns[i].GetGetter().GetClrValue(row);
                            var converter = columns[i].GetTypeMapping().Converter;
                            if (value is not null && converter is not null)
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
}
