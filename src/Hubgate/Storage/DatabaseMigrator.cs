using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hubgate.Storage;

/// <summary>Applies migrations and turns connection failures into a message that names the provider and host.</summary>
internal sealed partial class DatabaseMigrator(
    IDbContextFactory<HubgateDbContext> contexts,
    IOptions<DatabaseOptions> options,
    ILogger<DatabaseMigrator> logger)
{
    // pg_advisory_lock(int, int) class for "schema migration" ("HgMi").
    private const int MigrationLockClass = 0x48674D69;

    /// <summary>Where the database is, for messages: the provider and the host or file, never the password.</summary>
    public string Describe()
    {
        var o = options.Value;
        return o.Provider switch
        {
            DatabaseProvider.Postgres => $"PostgreSQL at {DescribePostgres(o.ConnectionString)}",
            _ => $"SQLite file {new SqliteConnectionStringBuilder(o.ConnectionString).DataSource}",
        };
    }

    /// <summary>The one-line message for a database that cannot be opened: where it is and why, never the password.</summary>
    public string CannotOpen(string? reason) => $"Cannot open the database ({Describe()}): {reason}";

    /// <summary>Applies pending migrations.</summary>
    /// <exception cref="DatabaseUnavailableException">The database cannot be reached or migrated.</exception>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            PrepareSqliteFile();

            var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                if (db.IsPostgres)
                {
                    // Replicas starting together: one migrates, the others wait here and then find nothing pending.
                    // A session lock on this connection, released by closing it.
                    await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({MigrationLockClass}, 0)", cancellationToken).ConfigureAwait(false);
                }

                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
                if (pending.Count > 0)
                {
                    var where = Describe();
                    Log.Migrating(logger, pending.Count, where);
                    await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
                }

                if (db.IsPostgres)
                {
                    await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({MigrationLockClass}, 0)", cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // WAL lets readers (dashboard, API) run while the inbox writes; the mode is stored in the file.
                    await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (DataDirectoryException ex)
        {
            throw new DatabaseUnavailableException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            throw new DatabaseUnavailableException(CannotOpen(ex.GetBaseException().Message), ex);
        }
    }

    /// <summary>Whether the database answers and has every migration applied.</summary>
    public async Task<(bool Reachable, bool Migrated, string? Error)> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            PrepareSqliteFile();

            var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            await using (db.ConfigureAwait(false))
            {
                var pending = await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false);
                return (true, !pending.Any(), null);
            }
        }
        catch (DataDirectoryException ex)
        {
            return (false, false, ex.Message);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return (false, false, ex.GetBaseException().Message);
        }
    }

    /// <summary>The data directory (when the database is in it) created owner-only, then the SQLite file owner-only.</summary>
    /// <exception cref="DataDirectoryException">The data directory cannot be used.</exception>
    private void PrepareSqliteFile()
    {
        if (options.Value.Provider != DatabaseProvider.Sqlite)
        {
            return;
        }

        if (options.Value.DataDirectory is { } directory)
        {
            DataDirectory.Prepare(directory);
        }

        SqliteFileMode.RestrictToOwner(options.Value.ConnectionString);
    }

    private static string DescribePostgres(string? connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{b.Host}:{b.Port}/{b.Database}";
        }
        catch (ArgumentException)
        {
            return "(unparsable ConnectionStrings:Hubgate)";
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Applying {Count} migration(s) to {Database}")]
        public static partial void Migrating(ILogger logger, int count, string database);
    }
}

/// <summary>The database could not be reached or migrated; the message names the provider and host.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : HubgateStorageException(message, inner);
