using System.Diagnostics;
using Hubgate.Telemetry;
using Hubgate.Webhooks.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Runs the incoming side's background work (started by <see cref="SubscriptionSchedulerHost"/>): at
/// start, writes the declared subscriptions and (SQLite) reclaims what a previous process left mid-attempt; then the
/// fan-out, woken by ingest; one <see cref="DeliveryWorker"/> per subscription that has deliveries pushed to it (the
/// built-in <c>local</c> and every HTTP one; a stream's listener pulls), each on a thread of its own, started and stopped
/// as subscriptions are added, paused, resumed or removed (on any replica: the catalog is read again every
/// <see cref="SubscriptionCatalog.RefreshInterval"/>); and retention.
/// </summary>
internal sealed partial class SubscriptionScheduler(
    IServiceProvider services,
    WorkerIdentity identity,
    DeliveryStore store,
    SubscriptionCatalog catalog,
    FanOut fanOut,
    DeliverySignal ingested,
    WorkSignal work,
    RabbitMq.RabbitMqBrokers brokers,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger<SubscriptionScheduler>();
    private readonly Dictionary<string, Runner> _runners = new(StringComparer.Ordinal);

    /// <summary>Workers told to stop whose broker channel is let go once they have finished (<see cref="ReleaseChannels"/>).</summary>
    private readonly List<(string Name, Task Loop)> _stopping = [];

    private sealed record Runner(DeliveryWorker Worker, CancellationTokenSource Stop, Task Loop);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await StartUpAsync(stoppingToken).ConfigureAwait(false);
        var fanning = DedicatedThread.Start("Hubgate fan-out", () => FanOutLoop(stoppingToken));
        var pruning = RetentionLoopAsync(stoppingToken);
        catalog.Changed += work.Notify;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var wake = work.Current;
                try
                {
                    Reconcile(await catalog.AllAsync(stoppingToken).ConfigureAwait(false), stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    Log.LoopFailed(_logger, "scheduler", e.GetType().Name, e.Message, SubscriptionCatalog.RefreshInterval);
                }

                try
                {
                    await WorkSignal.WaitAsync(wake, SubscriptionCatalog.RefreshInterval, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            catalog.Changed -= work.Notify;
            foreach (var runner in _runners.Values)
            {
                await runner.Stop.CancelAsync().ConfigureAwait(false);
            }

            await Task.WhenAll(_runners.Values.Select(r => r.Loop).Append(fanning).Append(pruning)).ConfigureAwait(false);
            foreach (var runner in _runners.Values)
            {
                runner.Stop.Dispose();
            }

            _runners.Clear();
        }
    }

    /// <summary>Writes the declared subscriptions and reclaims, retrying while the database is unreachable.</summary>
    private async Task StartUpAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await catalog.SyncDeclaredAsync(stoppingToken).ConfigureAwait(false);
                var reclaimed = await store.ReclaimAfterRestartAsync(identity.Name, time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                if (reclaimed > 0)
                {
                    Log.Reclaimed(_logger, reclaimed);
                }

                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                Log.LoopFailed(_logger, "start-up", e.GetType().Name, e.Message, delay);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>Starts a worker for each subscription that should have one and stops those that should not.</summary>
    private void Reconcile(IReadOnlyList<Subscription> subscriptions, CancellationToken stoppingToken)
    {
        var wanted = subscriptions.Where(s => s.IsActive && s.Kind is SubscriptionKind.Local or SubscriptionKind.Http or SubscriptionKind.RabbitMq).ToDictionary(s => s.Name);
        foreach (var (name, runner) in _runners.Where(r => !wanted.ContainsKey(r.Key) || r.Value.Loop.IsCompleted).ToList())
        {
            runner.Stop.Cancel();
            _runners.Remove(name);
            _stopping.Add((name, runner.Loop));
            Log.Stopped(_logger, name);
        }

        foreach (var subscription in wanted.Values.Where(s => !_runners.ContainsKey(s.Name)))
        {
            IDeliveryDispatch? dispatch = subscription.Kind switch
            {
                SubscriptionKind.Http => services.GetRequiredService<HttpDispatch>(),
                SubscriptionKind.RabbitMq => services.GetRequiredService<RabbitMq.RabbitMqDispatch>(),
                _ => null,
            };
            var worker = dispatch is null
                ? services.GetRequiredService<DeliveryWorker>()
                : new DeliveryWorker(identity, subscription.Name, store, catalog, fanOut, dispatch, options, time, loggers.CreateLogger<DeliveryWorker>());
            var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            _runners[subscription.Name] = new Runner(worker, stop,
                DedicatedThread.Start($"Hubgate subscription {subscription.Name}", () => WorkLoop(worker, stop.Token)));
            Log.Started(_logger, subscription.Name, subscription.Kind);
        }

        ReleaseChannels();
    }

    /// <summary>
    /// Closes the broker channel of each subscription whose stopped worker has finished, unless a worker delivers it
    /// again meanwhile (resumed at once): that one publishes on the same channel, which must stay open. The connection
    /// stays, shared.
    /// </summary>
    private void ReleaseChannels()
    {
        foreach (var done in _stopping.Where(s => s.Loop.IsCompleted).ToList())
        {
            _stopping.Remove(done);
            if (!_runners.ContainsKey(done.Name) && !_stopping.Any(s => s.Name == done.Name))
            {
                _ = brokers.ReleaseAsync(done.Name);
            }
        }
    }

    private void WorkLoop(DeliveryWorker worker, CancellationToken stop)
    {
        var errorDelay = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            var wake = work.Current;
            try
            {
                if (!worker.Sequential)
                {
                    // Pipelined: returns when the subscription stops being active or its concurrency changes.
                    worker.PumpAsync(work, stop).GetAwaiter().GetResult();
                    errorDelay = TimeSpan.FromSeconds(1);
                    WorkSignal.WaitAsync(wake, options.CurrentValue.PollInterval, time, stop).GetAwaiter().GetResult();
                    continue;
                }

                var worked = worker.RunOnceAsync(stop).GetAwaiter().GetResult();
                errorDelay = TimeSpan.FromSeconds(1);
                if (worked == 0)
                {
                    WorkSignal.WaitAsync(wake, options.CurrentValue.PollInterval, time, stop).GetAwaiter().GetResult();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, worker.Subscription, e.GetType().Name, e.Message, errorDelay);
                if (!Sleep(errorDelay, stop))
                {
                    break;
                }

                errorDelay = TimeSpan.FromTicks(Math.Min(errorDelay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    private void FanOutLoop(CancellationToken stop)
    {
        var errorDelay = TimeSpan.FromSeconds(1);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var handed = fanOut.RunAsync(stop).GetAwaiter().GetResult();
                errorDelay = TimeSpan.FromSeconds(1);
                if (handed == 0)
                {
                    ingested.WaitAsync(options.CurrentValue.PollInterval, time, stop).GetAwaiter().GetResult();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, "fan-out", e.GetType().Name, e.Message, errorDelay);
                if (!Sleep(errorDelay, stop))
                {
                    break;
                }

                errorDelay = TimeSpan.FromTicks(Math.Min(errorDelay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// Every <c>Webhooks:PruneInterval</c>: removes deliveries older than <c>Webhooks:Retention</c> that every
    /// subscription is done with, and those older than <c>Webhooks:MaxRetention</c> whatever is owed (counted as expired),
    /// in small batches with a pause between them, so ingest is never kept waiting for long.
    /// </summary>
    private async Task RetentionLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var settings = options.CurrentValue;
            try
            {
                await Task.Delay(settings.PruneInterval, time, stop).ConfigureAwait(false);
                int pruned = 0, expired = 0;
                var now = time.GetUtcNow();
                var horizon = await store.PruneHorizonAsync(now - settings.Retention, stop).ConfigureAwait(false);
                long? after = 0;
                for (var batch = 0; batch < 1000 && after is { } from && !stop.IsCancellationRequested; batch++)
                {
                    var step = await store.PruneAsync(now - settings.Retention, now - settings.MaxRetention, 500, from, horizon, stop).ConfigureAwait(false);
                    pruned += step.Pruned;
                    after = step.Next;
                    foreach (var (subscription, count) in step.Expired)
                    {
                        // Counted where they are counted when delivered: per subscription, in state "expired".
                        expired += count;
                        HubgateTelemetry.DeliveriesFinished.Add(count, new TagList { { "subscription", subscription }, { "state", "expired" } });
                        Log.Expired(_logger, count, subscription, settings.MaxRetention);
                    }

                    if (after is not null)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(20), time, stop).ConfigureAwait(false);
                    }
                }

                if (pruned > 0)
                {
                    Log.Pruned(_logger, pruned, expired, settings.Retention);
                }

                // SQLite's delivery log: the segments no stored delivery reads any more go whole.
                // Bodies of deliveries kept past Webhooks:Retention (owed to a paused or failing subscription) move into the
                // database first, so that they do not hold back every segment after theirs until Webhooks:MaxRetention.
                if (await store.TrimLogAsync(time.GetUtcNow() - settings.Retention, stop).ConfigureAwait(false) is > 0 and var segments)
                {
                    Log.SegmentsDeleted(_logger, segments);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.LoopFailed(_logger, "retention", e.GetType().Name, e.Message, settings.PruneInterval);
            }
        }
    }

    private bool Sleep(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            Task.Delay(delay, time, stop).GetAwaiter().GetResult();
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 339, Level = LogLevel.Information, Message = "Retention deleted {Count} segments of the delivery log that no stored delivery reads any more")]
        public static partial void SegmentsDeleted(ILogger logger, int count);

        [LoggerMessage(EventId = 326, Level = LogLevel.Warning, Message = "{Count} deliveries were mid-attempt when the previous process stopped: attempting them again")]
        public static partial void Reclaimed(ILogger logger, int count);

        [LoggerMessage(EventId = 327, Level = LogLevel.Error, Message = "The {Loop} loop failed ({Exception}: {Reason}); trying again in {Delay}")]
        public static partial void LoopFailed(ILogger logger, string loop, string exception, string reason, TimeSpan delay);

        [LoggerMessage(EventId = 386, Level = LogLevel.Information, Message = "Delivering to subscription {Name} ({Kind})")]
        public static partial void Started(ILogger logger, string name, SubscriptionKind kind);

        [LoggerMessage(EventId = 387, Level = LogLevel.Information, Message = "Stopped delivering to subscription {Name} (paused, disabled or removed)")]
        public static partial void Stopped(ILogger logger, string name);

        [LoggerMessage(EventId = 388, Level = LogLevel.Information, Message = "Retention removed {Count} deliveries older than {Retention} ({Expired} still owed to a subscription, expired)")]
        public static partial void Pruned(ILogger logger, int count, int expired, TimeSpan retention);

        [LoggerMessage(EventId = 389, Level = LogLevel.Warning, Message = "Retention expired {Count} deliveries still owed to subscription {Subscription}: older than Webhooks:MaxRetention ({MaxRetention}), they were removed unsent")]
        public static partial void Expired(ILogger logger, int count, string subscription, TimeSpan maxRetention);
    }
}

/// <summary>
/// Starts the <see cref="SubscriptionScheduler"/> unless <c>Webhooks:RunWorker</c> is false (an ingest-only replica).
/// Read when the host starts, so it may come from configuration or from code alike.
/// </summary>
internal sealed class SubscriptionSchedulerHost(SubscriptionScheduler scheduler, IOptions<WebhookOptions> options) : IHostedService
{
    private bool _started;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _started = options.Value.RunWorker;
        return _started ? scheduler.StartAsync(cancellationToken) : Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) =>
        _started ? scheduler.StopAsync(cancellationToken) : Task.CompletedTask;
}
