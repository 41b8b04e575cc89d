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
}
