using Hubgate.Storage;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
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
    /// can be reached; then reads every key of the Data Protection key ring (a ring encrypted to another certificate fails
    /// here, not at the first token); then one line saying where the database and Hubgate's state are (the data directory
    /// <c>Hubgate:DataDirectory</c> when the database is in it). When it cannot, one critical line naming the provider and the host (never the password) instead
    /// of a host failure with stack traces, and false: the caller exits.
    /// </summary>
    public static async Task<bool> PrepareDatabaseAsync(this WebApplication app)
    {
        var migrator = app.Services.GetRequiredService<DatabaseMigrator>();
        var options = app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        string? failure = null;
        if (options.MigrateOnStartup)
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

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StorageSetup));
        failure ??= KeyRingOptions.CheckKeyRing(app.Services.GetRequiredService<IKeyManager>());
        if (failure is not null)
        {
            Log.DatabaseUnavailable(logger, failure);
            return false;
        }

        Log.DataLocation(logger, options.DataDirectory is { } directory
            ? $"the data directory {DataDirectory.Describe(directory)}: {migrator.Describe()}"
            : $"{migrator.Describe()} (ConnectionStrings:Hubgate)");
        if (app.Services.GetRequiredService<IOptions<KeyRingOptions>>().Value is { IsProtected: true } keyRing)
        {
            var replaced = await keyRing.ReplaceUnencryptedKeysAsync(app.Services.GetRequiredService<IKeyManager>(),
                app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>(), app.Services.GetRequiredService<TimeProvider>(),
                app.Lifetime.ApplicationStopping);
            if (replaced > 0)
            {
                Log.UnencryptedKeysReplaced(logger, replaced);
            }
        }
        else if (!app.Environment.IsDevelopment())
        {
            Log.KeyRingUnprotected(logger);
        }

        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 101, Level = LogLevel.Critical, Message = "{Message}")]
        public static partial void DatabaseUnavailable(ILogger logger, string message);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Hubgate's database and state: {Location}")]
        public static partial void DataLocation(ILogger logger, string location);

        [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "The Data Protection key ring (which encrypts stored tokens and signs dashboard sessions) " +
            "is stored unencrypted in the database: a copy of the database yields the tokens and forged sessions. Set DataProtection:CertificatePath " +
            "(and DataProtection:CertificatePassword) to encrypt it with a certificate kept outside the database.")]
        public static partial void KeyRingUnprotected(ILogger logger);

        [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "{Count} Data Protection key(s) stored unencrypted before DataProtection:CertificatePath " +
            "was set were replaced by a key encrypted to the certificate: stored installation tokens are minted again and dashboard users sign in again")]
        public static partial void UnencryptedKeysReplaced(ILogger logger, int count);
    }
}
