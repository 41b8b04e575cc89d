using System.Runtime.CompilerServices;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// Reads a log folder in order: every intact record (its CRCs checked) and, between them, a <see cref="LogFault"/> for
/// every stretch of bytes that holds none, with its segment and offset. After a damaged payload whose header is intact
/// the reader goes on at the next record; after a damaged header it searches forward for the next intact header of a
/// later sequence. A damaged stretch that nothing intact follows in the newest segment is a <see cref="LogFaultKind.TornTail"/>.
/// </summary>
internal static class SegmentLogReader
{
    /// <summary>The items of every segment of <paramref name="directory"/>, skipping records before <paramref name="fromSequence"/>.</summary>
    public static async IAsyncEnumerable<LogItem> ReadAsync(string directory, long fromSequence = 1,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var segments = SegmentFiles.List(directory);
        for (var i = 0; i < segments.Count; i++)
        {
            // A segment all of whose records are older than fromSequence is skipped unread.
            if (i + 1 < segments.Count && segments[i + 1].FirstSequence <= fromSequence)
            {
                continue;
            }

            await foreach (var item in ReadSegmentAsync(segments[i].Path, newest: i == segments.Count - 1, cancellationToken).ConfigureAwait(false))
            {
                if (item is LogRecord record && record.Sequence < fromSequence)
                {
                    continue;
                }

                yield return item;
            }
        }
    }

    /// <summary>
    /// The payload of the record at <paramref name="position"/> in the segment file <paramref name="path"/>: its header
    /// and both CRCs checked, and its sequence the one asked for. Throws <see cref="InvalidDataException"/> naming the
    /// segment and offset when the bytes there are not that intact record.
    /// </summary>
    public static async Task<byte[]> ReadRecordAsync(string path, LogPosition position, CancellationToken cancellationToken = default)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[LogRecordFormat.HeaderSize];
        if (await ReadFullyAsync(file, header, position.Offset, cancellationToken).ConfigureAwait(false) < header.Length
            || !LogRecordFormat.TryReadHeader(header, out var read) || read.Sequence != position.Sequence)
        {
            throw new InvalidDataException($"No intact record {position.Sequence} in {Path.GetFileName(path)} at offset {position.Offset}.");
        }

        var payload = new byte[read.PayloadLength];
        if (await ReadFullyAsync(file, payload, position.Offset + LogRecordFormat.HeaderSize, cancellationToken).ConfigureAwait(false) < payload.Length
            || LogRecordFormat.Checksum(payload) != read.PayloadChecksum)
        {
            throw new InvalidDataException($"Record {position.Sequence} in {Path.GetFileName(path)} at offset {position.Offset} is damaged (CRC).");
        }

        return payload;
    }

    private static async Task<int> ReadFullyAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> buffer, long offset, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await RandomAccess.ReadAsync(file, buffer[total..], offset + total, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>The items of one segment file; <paramref name="newest"/> says whether a damaged end is a torn tail.</summary>
    public static async IAsyncEnumerable<LogItem> ReadSegmentAsync(string path, bool newest,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var window = new SegmentWindow(path);
        var length = window.Length;
        long offset = 0;
        long lastSequence = 0;
        while (offset < length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var header = await window.ReadHeaderAsync(offset, lastSequence, cancellationToken).ConfigureAwait(false);
            if (header is { } h && offset + h.RecordLength <= length)
            {
                var payload = await window.ReadAsync(offset + LogRecordFormat.HeaderSize, h.PayloadLength, cancellationToken).ConfigureAwait(false);
                if (LogRecordFormat.Checksum(payload.Span) == h.PayloadChecksum)
                {
                    yield return new LogRecord(path, offset, h.Sequence, payload.ToArray());
                    lastSequence = h.Sequence;
                }
                else
                {
                    // The framing holds: exactly this record is damaged.
                    var end = offset + h.RecordLength == length;
                    yield return new LogFault(path, offset, h.RecordLength, end && newest ? LogFaultKind.TornTail : LogFaultKind.Corrupt);
                }

                offset += h.RecordLength;
                continue;
            }

            // The framing is lost here: the next intact header, if any, is where reading goes on.
            var next = await window.FindHeaderAsync(offset + 1, lastSequence, cancellationToken).ConfigureAwait(false);
            if (next < 0)
            {
                yield return new LogFault(path, offset, length - offset, newest ? LogFaultKind.TornTail : LogFaultKind.Corrupt);
                yield break;
            }

            yield return new LogFault(path, offset, next - offset, LogFaultKind.Corrupt);
            offset = next;
        }
    }
}
