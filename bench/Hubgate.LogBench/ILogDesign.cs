namespace Hubgate.LogBench;

/// <summary>One design of a durable log under test: an append completes once its record is on disk.</summary>
internal interface ILogDesign : IAsyncDisposable
{
    /// <summary>Whether appends block their thread (then each appender gets a thread of its own, as a request would).</summary>
    bool Blocking { get; }

    ValueTask AppendAsync(byte[] record, CancellationToken cancellationToken);

    /// <summary>Closes the writer, opens the log again and reads every record back (as a start-up re-index would); returns how many.</summary>
    Task<long> ReopenAndScanAsync(CancellationToken cancellationToken);
}
