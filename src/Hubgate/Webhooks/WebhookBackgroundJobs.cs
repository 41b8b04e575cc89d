using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>Says at start-up, loudly, when no webhook secret is configured (every delivery would be refused).</summary>
internal sealed partial class WebhookSecretStartupCheck(WebhookSecrets secrets, ILogger<WebhookSecretStartupCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!secrets.IsConfigured)
        {
            Log.NoSecret(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 315, Level = LogLevel.Error,
            Message = "No webhook secret is configured: every delivery will be refused with 401 until GitHub:WebhookSecret (environment: GitHub__WebhookSecret) is set to the App's webhook secret.")]
        public static partial void NoSecret(ILogger logger);
    }
}

/// <summary>Runs <see cref="DeliveryRecovery"/> every <c>Webhooks:RecoverInterval</c> (off unless set).</summary>
internal sealed partial class DeliveryRecoveryJob(
    DeliveryRecovery recovery,
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

            try
            {
                await recovery.RecoverAsync(settings.RecoverLookback, cancellationToken: stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.Failed(logger, e.GetType().Name, e.Message, interval.Value);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 333, Level = LogLevel.Warning, Message = "Periodic delivery recovery failed ({Exception}: {Reason}); next run in {Interval}")]
        public static partial void Failed(ILogger logger, string exception, string reason, TimeSpan interval);
    }
}
