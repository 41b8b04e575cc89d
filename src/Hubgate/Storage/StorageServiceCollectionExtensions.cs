using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Hubgate.Storage;

/// <summary>Registers Hubgate's database (SQLite or PostgreSQL) and the Data Protection key ring kept in it.</summary>
public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="HubgateDbContext"/> for the provider named by <c>Database:Provider</c>, with the
    /// connection string <c>ConnectionStrings:Hubgate</c> (for SQLite by default <c>hubgate.db</c> in the data directory
    /// <c>Hubgate:DataDirectory</c>), and Data Protection keys persisted in the same database
    /// (encrypted to the certificate <c>DataProtection:CertificatePath</c> when one is set: see <see cref="KeyRingOptions"/>).
    /// </summary>
    public static IServiceCollection AddHubgateStorage(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = ReadOptions(configuration);
        services.AddSingleton(Options.Create(options));

        switch (options.Provider)
        {
            case DatabaseProvider.Postgres:
                var dataSource = new NpgsqlDataSourceBuilder(options.ConnectionString).Build();
                services.AddSingleton(dataSource);
                services.AddPooledDbContextFactory<PostgresHubgateDbContext>(o => o.UseNpgsql(dataSource));
                services.AddSingleton<IDbContextFactory<HubgateDbContext>, ContextFactory<PostgresHubgateDbContext>>();
                break;
            default:
                var gate = new SqliteWriteGate(SqlitePragmas.BusyTimeout);
                services.AddSingleton(gate);
                services.AddPooledDbContextFactory<SqliteHubgateDbContext>(o => o
                    .UseSqlite(options.ConnectionString)
                    .AddInterceptors(new SqlitePragmas(), gate));
                services.AddSingleton<IDbContextFactory<HubgateDbContext>, ContextFactory<SqliteHubgateDbContext>>();
                break;
        }

        services.AddScoped(sp => sp.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContext());
        var keyRing = KeyRingOptions.Read(configuration);
        services.AddSingleton(Options.Create(keyRing));
        keyRing.Apply(services.AddDataProtection()
            .SetApplicationName("Hubgate")
            .PersistKeysToDbContext<HubgateDbContext>());
        services.AddSingleton<DatabaseMigrator>();
        return services;
    }

    /// <summary>
    /// Creates Hubgate's tables, or brings them up to this version's schema, in the database <see cref="AddHubgateStorage"/>
    /// configured: call it once at start-up, before the host runs (the inbox, the token store and the key ring live there).
    /// On PostgreSQL, replicas starting together migrate once (an advisory lock).
    /// </summary>
    /// <exception cref="DatabaseUnavailableException">The database could not be reached or migrated; the message names
    /// the provider and host, never the password.</exception>
    public static Task MigrateHubgateDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
    }

    internal static DatabaseOptions ReadOptions(IConfiguration configuration)
    {
        var options = new DatabaseOptions();
        configuration.GetSection(DatabaseOptions.SectionName).Bind(options);
        options.ConnectionString = configuration.GetConnectionString("Hubgate") ?? options.ConnectionString;
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (options.Provider == DatabaseProvider.Postgres)
            {
                throw new OptionsValidationException("ConnectionStrings:Hubgate", typeof(DatabaseOptions),
                    ["ConnectionStrings:Hubgate is required when Database:Provider is Postgres (e.g. \"Host=127.0.0.1;Database=hubgate;Username=hubgate;Password=...\")."]);
            }

            options.DataDirectory = DataDirectory.Resolve(configuration);
            options.ConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(options.DataDirectory, "hubgate.db"),
            }.ToString();
        }

        return options;
    }

    private sealed class ContextFactory<TContext>(IDbContextFactory<TContext> inner) : IDbContextFactory<HubgateDbContext>
        where TContext : HubgateDbContext
    {
        public HubgateDbContext CreateDbContext() => inner.CreateDbContext();
    }
}
