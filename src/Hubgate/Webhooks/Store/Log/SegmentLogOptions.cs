namespace Hubgate.Webhooks.Store.Log;

/// <summary>Where a <see cref="SegmentLog"/> keeps its segments and how large they and its batches grow.</summary>
internal sealed record SegmentLogOptions(string Directory)
{
    /// <summary>A segment is sealed and a new one started when the next record would take it past this size.</summary>
    public long SegmentBytes { get; init; } = 64L << 20;

    /// <summary>Records written and synced together stop at this many bytes (the rest wait for the next sync).</summary>
    public int MaxBatchBytes { get; init; } = 16 << 20;

    /// <summary>Records written and synced together stop at this count (one gathered write: two buffers a record).</summary>
    public int MaxBatchRecords { get; init; } = 256;

    /// <summary>The sequence of the first record when the folder holds no segment yet (a log started again beside an index that already covers earlier sequences).</summary>
    public long FirstSequence { get; init; } = 1;

    /// <summary>Larger payloads are refused (GitHub caps a delivery at 25 MB).</summary>
    public int MaxRecordBytes { get; init; } = 32 << 20;
}
