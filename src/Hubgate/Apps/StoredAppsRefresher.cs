using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hubgate.Apps;

/// <summary>
/// Registers every stored App when the service starts, then every <see cref="Interval"/> picks up Apps added, changed
/// or removed on other replicas (a request naming an App this replica does not know looks it up at once instead:
/// <see cref="GitHubAppStore.FindAsync"/>).
/// </summary>
internal sealed partial class StoredAppsRefresher(GitHubAppStore store, TimeProvider time, ILogger<StoredAppsRefresher> logger) : BackgroundService
{
    /// <summary>How often the table is read again.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the first request: a delivery for a stored App must not be refused because the service just started.
        var registered = await store.RefreshAsync(cancellationToken).ConfigureAwait(false);
        Log.Registered(logger, registered);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
                await store.RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException or TimeoutException)
            {
                Log.Failed(logger, e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 475, Level = LogLevel.Information, Message = "{Count} stored Apps registered")]
        public static partial void Registered(ILogger logger, int count);

        [LoggerMessage(EventId = 476, Level = LogLevel.Warning, Message = "Stored Apps not re-read: {Error}; trying again later")]
        public static partial void Failed(ILogger logger, string error);
    }
}
