using Hubgate.Storage;
using Hubgate.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// The subscriptions' gauges (<c>hubgate.subscription.backlog</c>, <c>hubgate.subscription.status</c>): read from the
/// database when a collection asks for them (a Prometheus scrape), at most once every <see cref="Interval"/> — between
/// two reads, the last values. Observed from start to stop of the host.
/// </summary>
internal sealed partial class SubscriptionGauges(SubscriptionStats stats, TimeProvider time, ILogger<SubscriptionGauges> logger) : IHostedService
{
    /// <summary>How old the values may be before a collection reads them again.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly Lock _reading = new();
    private volatile Values? _values;

    /// <summary>Each subscription's backlog and status at <see cref="ReadAt"/>.</summary>
    internal sealed record Values(IReadOnlyDictionary<string, long> Backlog, IReadOnlyDictionary<string, SubscriptionStatus> Status, DateTimeOffset ReadAt);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        HubgateTelemetry.Observe(this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        HubgateTelemetry.Forget(this);
        return Task.CompletedTask;
    }

    /// <summary>
    /// The values, read again when older than <see cref="Interval"/> (one reader at a time: the others get the last
    /// values). Null when they could not be read yet. Called on the collecting thread; a failed read is logged and the
    /// last values kept.
    /// </summary>
    public Values? Current()
    {
        var values = _values;
        if (values is not null && time.GetUtcNow() - values.ReadAt < Interval)
        {
            return values;
        }

        if (!_reading.TryEnter())
        {
            return values;
        }

        try
        {
            var (backlog, status) = stats.ReadGauges();
            return _values = new Values(backlog, status, time.GetUtcNow());
        }
        catch (Exception e) when (e is Microsoft.EntityFrameworkCore.DbUpdateException or System.Data.Common.DbException or InvalidOperationException or TimeoutException)
        {
            Log.ReadFailed(logger, e.GetType().Name, e.Message);
            return values;
        }
        finally
        {
            _reading.Exit();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 390, Level = LogLevel.Warning, Message = "The subscriptions' gauges could not be read from the database ({Exception}: {Reason}); the last values are reported")]
        public static partial void ReadFailed(ILogger logger, string exception, string reason);
    }
}
