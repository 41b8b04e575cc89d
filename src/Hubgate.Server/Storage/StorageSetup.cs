using Hubgate.Storage;

namespace Hubgate.Server.Storage;

internal static class StorageSetup
{
    /// <summary>The database (SQLite by default), its key ring, and migrations at start-up.</summary>
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddHubgateStorage(builder.Configuration);
        builder.Services.AddHostedService<MigrateOnStartup>();
        return builder;
    }
}
