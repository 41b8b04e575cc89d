using Hubgate.Webhooks.Store;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Hands what ingest stored to the subscriptions (<see cref="DeliveryStore.FanOutAsync"/>), off the request path, and
/// wakes their workers. Run by the scheduler when ingest signals, and by each worker before it claims.
/// </summary>
internal sealed class FanOut(DeliveryStore store, SubscriptionCatalog catalog, WorkSignal signal, TimeProvider time)
{
    /// <summary>Deliveries per fan-out transaction.</summary>
    public const int BatchSize = 256;

    /// <summary>Batches per call, so that one call is bounded; what is left is taken by the next.</summary>
    private const int MaxBatches = 16;

    /// <summary>How many <see cref="RunAsync"/> calls are under way in this process.</summary>
    private int _running;

    /// <summary>
    /// As <see cref="RunAsync"/> unless a fan-out is already under way in this process (a worker before it claims): that
    /// one wakes the workers when it hands anything out, so waiting for it (one transaction at a time) would only delay
    /// this worker's claim. Returns how many deliveries this call handed out.
    /// </summary>
    public Task<int> RunUnlessRunningAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _running) > 0 ? Task.FromResult(0) : RunAsync(cancellationToken);

    /// <summary>Fans out what is waiting (up to <see cref="MaxBatches"/> batches); wakes the workers when there was any. Returns how many deliveries.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _running);
        try
        {
            return await FanOutWaitingAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    private async Task<int> FanOutWaitingAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        for (var i = 0; i < MaxBatches; i++)
        {
            var subscriptions = await catalog.AllAsync(cancellationToken).ConfigureAwait(false);
            var targets = subscriptions.Select(s => new FanOutTarget(s.Name, s.Filter, s.Options.Ordering)).ToList();
            var handed = await store.FanOutAsync(targets, BatchSize, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            total += handed;
            if (handed < BatchSize)
            {
                break;
            }
        }

        if (total > 0)
        {
            signal.Notify();
        }

        return total;
    }
}

/// <summary>
/// Wakes every waiting worker at once (new rows were fanned out, a subscription was resumed). A worker takes
/// <see cref="Current"/> before it looks for work, so a signal given while it looked is not lost.
/// </summary>
internal sealed class WorkSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the next signal is given.</summary>
    public Task Current => Volatile.Read(ref _next).Task;

    public void Notify() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits for <paramref name="signal"/> (taken earlier from <see cref="Current"/>) or <paramref name="timeout"/>, whichever comes first.</summary>
    public static async Task WaitAsync(Task signal, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(signal);
        try
        {
            await signal.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // the poll interval passed
        }
    }
}
