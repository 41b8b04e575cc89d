using Hubgate.Storage;

namespace Hubgate.Server.Storage;

internal static class StorageSetup
{
    /// <summary>The database (SQLite by default), its key ring, and migrations at start-up.</summary>
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        // First of the hosted services: Data Protection's own (registered next) reads the key ring from the database.
        builder.Services.AddHostedService<MigrateOnStartup>();
        builder.Services.AddHubgateStorage(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Before anything starts: can the database be reached? When not, one critical line naming the provider and the host
    /// (never the password) instead of a host failure with stack traces, and the caller exits.
    /// </summary>
    public static async Task<bool> CheckDatabaseAsync(this WebApplication app)
    {
        var migrator = app.Services.GetRequiredService<DatabaseMigrator>();
        var (reachable, _, error) = await migrator.CheckAsync(app.Lifetime.ApplicationStopping);
        if (!reachable)
        {
            MigrateOnStartup.LogUnavailable(app.Services.GetRequiredService<ILogger<MigrateOnStartup>>(),
                $"Cannot open the database ({migrator.Describe()}): {error}");
        }

        return reachable;
    }
}
