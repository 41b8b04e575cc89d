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
        return AddHubgateStorage(services, ReadOptions(configuration), KeyRingOptions.Read(configuration));
    }

    /// <summary>
    /// As <see cref="AddHubgateStorage(IServiceCollection, IConfiguration)"/>, with <see cref="DatabaseOptions"/> bound
    /// from <paramref name="section"/> (shaped like <c>Database</c>: <c>Provider</c>, <c>ConnectionString</c>,
    /// <c>MigrateOnStartup</c>). Read at once, since the provider decides what is registered; without a connection string,
    /// SQLite's database is <c>hubgate.db</c> in the default data directory. The key ring is kept unencrypted.
    /// </summary>
    public static IServiceCollection AddHubgateStorage(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = new DatabaseOptions();
        section.Bind(options);
        return AddHubgateStorage(services, Complete(options, () => DataDirectory.Resolve(NoConfiguration)), new KeyRingOptions());
    }

    /// <summary>
    /// As <see cref="AddHubgateStorage(IServiceCollection, IConfiguration)"/>, with <see cref="DatabaseOptions"/> set by
    /// <paramref name="configure"/> (from their defaults; no configuration is read). Run at once, since the provider
    /// decides what is registered; without a connection string, SQLite's database is <c>hubgate.db</c> in the default
    /// data directory, and PostgreSQL is refused with <see cref="OptionsValidationException"/> naming the key. The key
    /// ring is kept unencrypted.
    /// </summary>
    public static IServiceCollection AddHubgateStorage(this IServiceCollection services, Action<DatabaseOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new DatabaseOptions();
        configure(options);
        return AddHubgateStorage(services, Complete(options, () => DataDirectory.Resolve(NoConfiguration)), new KeyRingOptions());
    }

    private static readonly IConfiguration NoConfiguration = new ConfigurationBuilder().Build();

    private static IServiceCollection AddHubgateStorage(IServiceCollection services, DatabaseOptions options, KeyRingOptions keyRing)
    {
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
        services.AddSingleton(Options.Create(keyRing));
        keyRing.Apply(services.AddDataProtection()
            .SetApplicationName("Hubgate")
            .PersistKeysToDbContext<HubgateDbContext>());
        services.AddSingleton<DatabaseMigrator>();
        return services;
    }

    /// <summary>
    /// Creates Hubgate's tables, or brings them up to this version's schema, in the database <c>AddHubgateStorage</c>
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
        return Complete(options, () => DataDirectory.Resolve(configuration));
    }

    /// <summary>Without a connection string: refused for PostgreSQL, <c>hubgate.db</c> in <paramref name="dataDirectory"/> for SQLite.</summary>
    private static DatabaseOptions Complete(DatabaseOptions options, Func<string> dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (options.Provider == DatabaseProvider.Postgres)
            {
                throw new OptionsValidationException("ConnectionStrings:Hubgate", typeof(DatabaseOptions),
                    ["ConnectionStrings:Hubgate is required when Database:Provider is Postgres (e.g. \"Host=127.0.0.1;Database=hubgate;Username=hubgate;Password=...\")."]);
            }

            options.DataDirectory = dataDirectory();
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
