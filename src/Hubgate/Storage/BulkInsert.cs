using System.Collections.Concurrent;
using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Storage;

/// <summary>
/// Inserts many rows of one entity type with one prepared command, bypassing the change tracker: the hot paths (the
/// inbox's batches, a push's commits). The statement, column names and value conversions come from the EF Core model,
/// so it follows the schema and works on both providers; a database-generated key is read back with
/// <c>RETURNING</c> and set on the row. Measured: EF's SaveChanges cost about ten times the CPU per row here.
/// </summary>
internal static class BulkInsert
{
    /// <summary>The statement and its columns, worked out once per model (one per database provider) and entity type.</summary>
    private static readonly ConditionalWeakTable<IModel, ConcurrentDictionary<Type, Plan>> Plans = [];

    /// <summary>
    /// Inserts <paramref name="rows"/> in the context's current transaction (the caller owns it and the connection).
    /// </summary>
    public static async Task InsertAsync<T>(HubgateDbContext db, IReadOnlyList<T> rows, CancellationToken cancellationToken)
        where T : class
    {
        if (rows.Count == 0)
        {
            return;
        }

        var plan = Plans.GetValue(db.Model, _ => new ConcurrentDictionary<Type, Plan>()).GetOrAdd(typeof(T), static (type, model) => Build(model, type), db.Model);
        var key = plan.Key;
        await ExecutePerRowAsync(db, plan.Sql, plan.Columns, rows, extra: null,
            key is null ? null : async (reader, r, ct) =>
            {
                await reader.ReadAsync(ct).ConfigureAwait(false);
                key.Property.SetValue(rows[r], Convert.ChangeType(reader.GetValue(0), key.Property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="sql"/> (parameters <c>@p0…</c> from <paramref name="columns"/>, plus <paramref name="extra"/>)
    /// once per row in the context's current transaction, and hands each row's result to <paramref name="read"/>.
    /// Where the provider batches (PostgreSQL) all rows go in one <see cref="DbBatch"/>: one network round trip instead of
    /// one per row. Elsewhere (SQLite, in-process) one prepared command is re-bound per row.
    /// </summary>
    internal static async Task ExecutePerRowAsync<T>(HubgateDbContext db, string sql, Column[] columns, IReadOnlyList<T> rows,
        DbParameterValue? extra, Func<DbDataReader, int, CancellationToken, Task>? read, CancellationToken cancellationToken)
        where T : class
    {
        var connection = db.Database.GetDbConnection();
        if (connection.CanCreateBatch && rows.Count > 1)
        {
            var batch = connection.CreateBatch();
            await using (batch.ConfigureAwait(false))
            {
                batch.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
                foreach (var row in rows)
                {
                    var command = batch.CreateBatchCommand();
                    command.CommandText = sql;
                    for (var i = 0; i < columns.Length; i++)
                    {
                        AddParameter(command.Parameters, command.CreateParameter(), $"@p{i}", ValueOf(columns[i], row));
                    }

                    if (extra is { } e)
                    {
                        AddParameter(command.Parameters, command.CreateParameter(), e.Name, e.Value);
                    }

                    batch.BatchCommands.Add(command);
                }

                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    for (var r = 0; r < rows.Count; r++)
                    {
                        if (read is not null)
                        {
                            await read(reader, r, cancellationToken).ConfigureAwait(false);
                        }

                        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return;
        }

        var (single, parameters) = CreateCommand(db, sql, columns.Length);
        await using (single.ConfigureAwait(false))
        {
            if (extra is { } e)
            {
                AddParameter(single, e.Name, e.Value);
            }

            for (var r = 0; r < rows.Count; r++)
            {
                Bind(parameters, columns, rows[r]);
                if (read is null)
                {
                    await single.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                }

                var reader = await single.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    await read(reader, r, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>A command in the context's current transaction with <paramref name="count"/> parameters <c>@p0…</c>.</summary>
    internal static (DbCommand Command, DbParameter[] Parameters) CreateCommand(HubgateDbContext db, string sql, int count)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        var parameters = new DbParameter[count];
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] = AddParameter(command, $"@p{i}", DBNull.Value);
        }

        return (command, parameters);
    }

    /// <summary>Adds a parameter named <paramref name="name"/> with <paramref name="value"/> to <paramref name="command"/>.</summary>
    internal static DbParameter AddParameter(DbCommand command, string name, object value) =>
        AddParameter(command.Parameters, command.CreateParameter(), name, value);

    private static DbParameter AddParameter(DbParameterCollection parameters, DbParameter parameter, string name, object value)
    {
        parameter.ParameterName = name;
        parameter.Value = value;
        parameters.Add(parameter);
        return parameter;
    }

    /// <summary>Sets each parameter to its column's value on <paramref name="row"/>, converted as the model says.</summary>
    internal static void Bind(DbParameter[] parameters, Column[] columns, object row)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i].Value = ValueOf(columns[i], row);
        }
    }

    private static object ValueOf(Column column, object row)
    {
        var value = column.Getter.GetClrValue(row);
        if (value is not null && column.Converter is { } converter)
        {
            value = converter.ConvertToProvider(value);
        }

        return value ?? DBNull.Value;
    }

    internal static Column ColumnOf(IProperty property) => new(property.GetGetter(), property.GetTypeMapping().Converter);

    private static Plan Build(IModel model, Type type)
    {
        var entity = model.FindEntityType(type) ?? throw new InvalidOperationException($"{type.Name} is not in the model.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var generated = entity.FindPrimaryKey()!.Properties is [{ ValueGenerated: ValueGenerated.OnAdd } key] ? key : null;
        var properties = entity.GetProperties().Where(p => p != generated).ToList();
        if (generated is not null && generated.PropertyInfo is null)
        {
            throw new InvalidOperationException($"{type.Name}'s generated key has no property to receive it.");
        }

        var sql = $"INSERT INTO \"{table.Name}\" ({string.Join(", ", properties.Select(p => $"\"{p.GetColumnName(table)}\""))}) " +
                  $"VALUES ({string.Join(", ", properties.Select((_, i) => $"@p{i}"))})" +
                  (generated is null ? string.Empty : $" RETURNING \"{generated.GetColumnName(table)}\"");
        return new Plan(sql, [.. properties.Select(ColumnOf)],
            generated?.PropertyInfo is { } info ? new Key(info) : null);
    }

    private sealed record Plan(string Sql, Column[] Columns, Key? Key);

    internal sealed record Column(IClrPropertyGetter Getter, ValueConverter? Converter);

    /// <summary>One more named parameter, the same for every row.</summary>
    internal readonly record struct DbParameterValue(string Name, object Value);

    private sealed record Key(System.Reflection.PropertyInfo Property);
}
