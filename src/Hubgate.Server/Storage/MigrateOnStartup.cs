using Hubgate.Storage;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Storage;

/// <summary>Applies migrations before the server takes traffic (<c>Database:MigrateOnStartup</c>).</summary>
internal sealed partial class MigrateOnStartup(
    DatabaseMigrator migrator,
    IOptions<DatabaseOptions> options,
    ILogger<MigrateOnStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.MigrateOnStartup)
        {
            return;
        }

        try
        {
            await migrator.MigrateAsync(cancellationToken);
        }
        catch (DatabaseUnavailableException ex)
        {
            // One clear line instead of a stack trace; the host then stops with a non-zero exit code.
            Log.DatabaseUnavailable(logger, ex.Message);
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static void LogUnavailable(ILogger logger, string message) => Log.DatabaseUnavailable(logger, message);

    private static partial class Log
    {
        [LoggerMessage(EventId = 101, Level = LogLevel.Critical, Message = "{Message}")]
        public static partial void DatabaseUnavailable(ILogger logger, string message);
    }
}
