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
        var (command, parameters) = CreateCommand(db, plan.Sql, plan.Columns.Length);
        await using (command.ConfigureAwait(false))
        {
            foreach (var row in rows)
            {
                Bind(parameters, plan.Columns, row);
                if (plan.Key is { } key)
                {
                    var id = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    key.Property.SetValue(row, Convert.ChangeType(id, key.Property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
            parameters[i] = command.CreateParameter();
            parameters[i].ParameterName = $"@p{i}";
            command.Parameters.Add(parameters[i]);
        }

        return (command, parameters);
    }

    /// <summary>Sets each parameter to its column's value on <paramref name="row"/>, converted as the model says.</summary>
    internal static void Bind(DbParameter[] parameters, Column[] columns, object row)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            var value = columns[i].Getter.GetClrValue(row);
            if (value is not null && columns[i].Converter is { } converter)
            {
                value = converter.ConvertToProvider(value);
            }

            parameters[i].Value = value ?? DBNull.Value;
        }
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

    private sealed record Key(System.Reflection.PropertyInfo Property);
}
