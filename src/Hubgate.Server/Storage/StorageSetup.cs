using Hubgate.Storage;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Storage;

internal static partial class StorageSetup
{
    /// <summary>The database (SQLite by default) and its key ring.</summary>
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddHubgateStorage(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Before anything starts — hosted services included, Data Protection's reads its key ring from the database:
    /// applies the migrations (<c>Database:MigrateOnStartup</c>, default true) or, when that is off, checks the database
    /// can be reached. When it cannot, one critical line naming the provider and the host (never the password) instead
    /// of a host failure with stack traces, and false: the caller exits.
    /// </summary>
    public static async Task<bool> PrepareDatabaseAsync(this WebApplication app)
    {
        var migrator = app.Services.GetRequiredService<DatabaseMigrator>();
        string? failure = null;
        if (app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStartup)
        {
            try
            {
                await migrator.MigrateAsync(app.Lifetime.ApplicationStopping);
            }
            catch (DatabaseUnavailableException e)
            {
                failure = e.Message;
            }
        }
        else if (await migrator.CheckAsync(app.Lifetime.ApplicationStopping) is { Reachable: false } check)
        {
            failure = migrator.CannotOpen(check.Error);
        }

        if (failure is not null)
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StorageSetup));
            Log.DatabaseUnavailable(logger, failure);
        }

        return failure is null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 101, Level = LogLevel.Critical, Message = "{Message}")]
        public static partial void DatabaseUnavailable(ILogger logger, string message);
    }
}
