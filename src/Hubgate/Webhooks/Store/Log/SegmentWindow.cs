using Microsoft.Win32.SafeHandles;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>A read-only segment file seen through one buffer that slides forward (large sequential reads).</summary>
internal sealed class SegmentWindow : IDisposable
{
    private const int WindowBytes = 1 << 20;
    private readonly SafeFileHandle _file;
    private byte[] _buffer = new byte[WindowBytes];
    private long _start;
    private int _count;

    public SegmentWindow(string path)
    {
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        Length = RandomAccess.GetLength(_file);
    }

    public long Length { get; }

    /// <summary><paramref name="count"/> bytes from <paramref name="offset"/> (fewer at the end of the file), valid until the next call.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(long offset, int count, CancellationToken cancellationToken)
    {
        count = (int)Math.Min(count, Length - offset);
        if (offset < _start || offset + count > _start + _count)
        {
            if (count > _buffer.Length)
            {
                _buffer = new byte[count];
            }

            _start = offset;
            _count = 0;
            var want = (int)Math.Min(_buffer.Length, Length - offset);
            while (_count < want)
            {
                var read = await RandomAccess.ReadAsync(_file, _buffer.AsMemory(_count, want - _count), offset + _count, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                _count += read;
            }

            count = Math.Min(count, _count);
        }

        return _buffer.AsMemory((int)(offset - _start), count);
    }

    /// <summary>The intact header at <paramref name="offset"/> of a sequence after <paramref name="after"/>, or null.</summary>
    public async ValueTask<RecordHeader?> ReadHeaderAsync(long offset, long after, CancellationToken cancellationToken)
    {
        var bytes = await ReadAsync(offset, LogRecordFormat.HeaderSize, cancellationToken).ConfigureAwait(false);
        return LogRecordFormat.TryReadHeader(bytes.Span, out var header) && header.Sequence > after ? header : null;
    }

    /// <summary>The offset of the first intact header at or after <paramref name="from"/> (sequence after <paramref name="after"/>), or -1.</summary>
    public async ValueTask<long> FindHeaderAsync(long from, long after, CancellationToken cancellationToken)
    {
        var offset = from;
        while (offset + LogRecordFormat.HeaderSize <= Length)
        {
            var chunk = await ReadAsync(offset, WindowBytes, cancellationToken).ConfigureAwait(false);
            var at = chunk.Span.IndexOf(LogRecordFormat.MagicBytes);
            if (at < 0)
            {
                // The magic may straddle the chunk's end: look again from its last bytes.
                offset += Math.Max(1, chunk.Length - (LogRecordFormat.MagicBytes.Length - 1));
                continue;
            }

            if (await ReadHeaderAsync(offset + at, after, cancellationToken).ConfigureAwait(false) is not null)
            {
                return offset + at;
            }

            offset += at + 1;
        }

        return -1;
    }

    public void Dispose() => _file.Dispose();
}
