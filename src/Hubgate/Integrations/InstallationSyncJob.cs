using Hubgate.Apps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Integrations;

/// <summary>
/// Runs <see cref="InstallationSync"/> every <c>GitHub:SyncInterval</c> (default 6 h; 0 turns it off), the first time
/// one interval after start, for every App that can act as itself (App id and key), each with its own JWT and tokens.
/// Without any such App it waits quietly: there is nothing it could list.
/// </summary>
internal sealed partial class InstallationSyncJob(
    InstallationSync sync,
    IOptionsMonitor<SyncOptions> options,
    GitHubApps apps,
    TimeProvider time,
    ILogger<InstallationSyncJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var interval = options.CurrentValue.SyncInterval;
            var enabled = interval > TimeSpan.Zero && apps.All.Any(a => a.IsConfigured);
            try
            {
                await Task.Delay(enabled ? interval : TimeSpan.FromMinutes(1), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!enabled)
            {
                continue; // off; look again in a minute in case configuration turned it on
            }

            foreach (var app in apps.All.Where(a => a.IsConfigured))
            {
                try
                {
                    await sync.SyncAsync(app.Name, cancellationToken: stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    Log.Failed(logger, app.Name, e.GetType().Name, e.Message, interval);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 513, Level = LogLevel.Warning, Message = "Periodic sync of App {App} failed ({Exception}: {Reason}); next run in {Interval}")]
        public static partial void Failed(ILogger logger, string app, string exception, string reason, TimeSpan interval);
    }
}
