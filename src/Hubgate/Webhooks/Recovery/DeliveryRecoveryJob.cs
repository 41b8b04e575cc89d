using Hubgate.Apps;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>
/// Runs <see cref="DeliveryRecovery"/> every <c>Webhooks:RecoverInterval</c> (off unless set), for each App that can act
/// as itself (App id and key), one after another; one App's failure does not stop the others'.
/// </summary>
internal sealed partial class DeliveryRecoveryJob(
    DeliveryRecovery recovery,
    GitHubApps apps,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<DeliveryRecoveryJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var settings = options.CurrentValue;
            var interval = settings.RecoverInterval is { } every && every > TimeSpan.Zero ? every : (TimeSpan?)null;
            try
            {
                await Task.Delay(interval ?? TimeSpan.FromMinutes(1), time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (interval is null)
            {
                continue; // off; look again in a minute in case configuration turned it on
            }

            foreach (var app in apps.All.Where(a => a.IsConfigured))
            {
                try
                {
                    await recovery.RecoverAsync(app.Name, settings.RecoverLookback, cancellationToken: stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    Log.Failed(logger, app.Name, e.GetType().Name, e.Message, interval.Value);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 333, Level = LogLevel.Warning, Message = "Periodic delivery recovery of App {App} failed ({Exception}: {Reason}); next run in {Interval}")]
        public static partial void Failed(ILogger logger, string app, string exception, string reason, TimeSpan interval);
    }
}
