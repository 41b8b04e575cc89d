namespace Hubgate.Webhooks.Store.Log;

/// <summary>What a <see cref="SegmentLogReader"/> found at <paramref name="Offset"/> of the segment file <paramref name="Segment"/>.</summary>
internal abstract record LogItem(string Segment, long Offset);

/// <summary>
/// An intact record. <paramref name="Payload"/> is the reader's own copy.
/// </summary>
internal sealed record LogRecord(string Segment, long Offset, long Sequence, ReadOnlyMemory<byte> Payload) : LogItem(Segment, Offset);

/// <summary>
/// <paramref name="Length"/> bytes at <paramref name="Offset"/> that hold no intact record. Never handed on as a record.
/// </summary>
internal sealed record LogFault(string Segment, long Offset, long Length, LogFaultKind Kind) : LogItem(Segment, Offset)
{
    public override string ToString() => $"{Kind} in {Path.GetFileName(Segment)} at offset {Offset} ({Length} bytes)";
}

internal enum LogFaultKind
{
    /// <summary>
    /// The end of the newest segment holds a record that was being written when the process or machine stopped: no
    /// intact record follows it. It was never acknowledged (its sync had not returned), so it is dropped.
    /// </summary>
    TornTail,

    /// <summary>Damaged bytes with intact records after them, or at the end of a sealed (older) segment: data loss to report.</summary>
    Corrupt,
}

/// <summary>
/// Where an appended record is: its sequence, and its offset in the segment that holds it (the segment whose name is
/// the largest first sequence not after it).
/// </summary>
internal readonly record struct LogPosition(long Sequence, long Offset);
