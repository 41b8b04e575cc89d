namespace Hubgate.Webhooks;

/// <summary>
/// A loop that blocks, run on a background thread of its own rather than the thread pool: the inbox writer and the
/// delivery worker. Their database calls block (SQLite's are synchronous under their async signatures, a commit waits
/// for <c>fsync</c>, a write that finds the lock taken sleeps in SQLite's busy handler); on a pool thread they would
/// hold one of the few threads incoming requests run on.
/// </summary>
internal static class DedicatedThread
{
    /// <summary>Starts <paramref name="loop"/>; the task completes when it returns, or faults with what it threw.</summary>
    public static Task Start(string name, Action loop)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                loop();
                stopped.TrySetResult();
            }
            catch (Exception e)
            {
                stopped.TrySetException(e);
            }
        })
        { IsBackground = true, Name = name }.Start();
        return stopped.Task;
    }
}
