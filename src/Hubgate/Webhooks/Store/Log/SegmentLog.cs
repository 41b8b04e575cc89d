using System.Buffers;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// An append-only log of records in segment files with group commit: concurrent appenders hand their records to one
/// writer thread, which writes everything waiting in one gathered write, makes it durable with one <c>fdatasync</c>, and
/// only then completes each appender's task with the record's sequence. A record whose append completed survives a
/// crash or power loss; one whose append had not completed may be absent, or present as a torn tail that
/// <see cref="SegmentLogReader"/> reports and <see cref="OpenAsync"/> cuts off.
/// <para>
/// A failed write (disk full) fails the appenders of that batch, and the segment is cut back to before it, so the log
/// goes on when space returns. A failed sync leaves the state of the written pages unknown: the log then refuses every
/// append until it is opened again, which reads the segment back from the disk.
/// </para>
/// </summary>
internal sealed class SegmentLog : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ManualResetEventSlim _wake = new();
    private readonly SegmentLogOptions _options;
    private readonly Task _writer;
    private SafeFileHandle _segment;
    private long _offset;
    private long _nextSequence;
    private Exception? _failed;

    private SegmentLog(SegmentLogOptions options, SafeFileHandle segment, long offset, long nextSequence)
    {
        _options = options;
        _segment = segment;
        _offset = offset;
        _nextSequence = nextSequence;
        _writer = DedicatedThread.Start("Hubgate log writer", WriteLoop);
    }

    /// <summary>The torn tail that <see cref="OpenAsync"/> cut off the newest segment, if there was one.</summary>
    public LogFault? CutTail { get; private init; }

    /// <summary>The sequence the next appended record gets.</summary>
    public long NextSequence => Interlocked.Read(ref _nextSequence);

    /// <summary>
    /// Opens the log in <see cref="SegmentLogOptions.Directory"/> (created if missing) for appending: reads the newest
    /// segment to find its end and last sequence, and cuts off a torn tail (never acknowledged).
    /// </summary>
    public static async Task<SegmentLog> OpenAsync(SegmentLogOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Directory.CreateDirectory(options.Directory);
        var segments = SegmentFiles.List(options.Directory);
        if (segments.Count == 0)
        {
            var start = Math.Max(1, options.FirstSequence);
            return new SegmentLog(options, CreateSegment(options.Directory, start), 0, start);
        }

        var (path, first) = segments[^1];
        long end = 0;
        var next = first;
        LogFault? torn = null;
        await foreach (var item in SegmentLogReader.ReadSegmentAsync(path, newest: true, cancellationToken).ConfigureAwait(false))
        {
            switch (item)
            {
                case LogRecord record:
                    end = record.Offset + LogRecordFormat.HeaderSize + record.Payload.Length;
                    next = record.Sequence + 1;
                    break;
                case LogFault { Kind: LogFaultKind.TornTail } fault:
                    torn = fault;
                    break;
            }
        }

        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        try
        {
            if (torn is not null)
            {
                RandomAccess.SetLength(handle, end);
                SegmentFiles.SyncData(handle);
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        return new SegmentLog(options, handle, end, next) { CutTail = torn };
    }

    /// <summary>
    /// Appends <paramref name="payload"/> and completes, with its sequence and place, once it is on disk. The caller must
    /// not change the payload's bytes until then. Cancelling stops the wait, not the write: the record may still become
    /// durable.
    /// </summary>
    public Task<LogPosition> AppendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (payload.Length > _options.MaxRecordBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, $"A log record holds at most {_options.MaxRecordBytes} bytes.");
        }

        if (Volatile.Read(ref _failed) is { } failed)
        {
            return Task.FromException<LogPosition>(new IOException("The log failed to sync and must be opened again.", failed));
        }

        var pending = new Pending(payload);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        _wake.Set();
        return pending.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes what was appended before, then closes the segment.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _wake.Set();
        await _writer.ConfigureAwait(false);
        _segment.Dispose();
        _wake.Dispose();
    }

    private void WriteLoop()
    {
        var batch = new List<Pending>(_options.MaxBatchRecords);
        while (true)
        {
            if (!_queue.Reader.TryPeek(out _))
            {
                if (_queue.Reader.Completion.IsCompleted)
                {
                    return;
                }

                _wake.Wait();
                _wake.Reset();
                continue;
            }

            long bytes = 0;
            while (batch.Count < _options.MaxBatchRecords && bytes < _options.MaxBatchBytes && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
                bytes += LogRecordFormat.HeaderSize + pending.Payload.Length;
            }

            WriteBatch(batch);
            batch.Clear();
        }
    }

    private void WriteBatch(List<Pending> batch)
    {
        if (_failed is { } failed)
        {
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(new IOException("The log failed to sync and must be opened again.", failed));
            }

            return;
        }

        var headers = ArrayPool<byte>.Shared.Rent(batch.Count * LogRecordFormat.HeaderSize);
        var buffers = new List<ReadOnlyMemory<byte>>(batch.Count * 2);
        var start = 0;
        try
        {
            while (start < batch.Count)
            {
                // The records that go into the current segment: up to the first that would overflow it (a segment
                // always takes at least one record, however large).
                var end = start;
                var offset = _offset;
                buffers.Clear();
                while (end < batch.Count)
                {
                    var size = LogRecordFormat.HeaderSize + (long)batch[end].Payload.Length;
                    if (offset > 0 && offset + size > _options.SegmentBytes)
                    {
                        break;
                    }

                    var header = headers.AsMemory(end * LogRecordFormat.HeaderSize, LogRecordFormat.HeaderSize);
                    LogRecordFormat.WriteHeader(header.Span, _nextSequence + (end - start), batch[end].Payload.Span);
                    buffers.Add(header);
                    buffers.Add(batch[end].Payload);
                    offset += size;
                    end++;
                }

                if (end > start)
                {
                    Write(buffers, batch, start, end, offset);
                    start = end;
                }

                if (start < batch.Count)
                {
                    Roll();
                }
            }
        }
        catch (Exception e)
        {
            for (var i = start; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetException(e);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(headers);
        }
    }

    /// <summary>Writes and syncs batch[start..end), then completes their appenders.</summary>
    private void Write(List<ReadOnlyMemory<byte>> buffers, List<Pending> batch, int start, int end, long newOffset)
    {
        try
        {
            RandomAccess.Write(_segment, buffers, _offset);
        }
        catch (IOException)
        {
            // Disk full or the like: cut off whatever part reached the file, so that no unacknowledged record could be
            // read back later; the log goes on from where it was.
            try
            {
                RandomAccess.SetLength(_segment, _offset);
            }
            catch (IOException cut)
            {
                Volatile.Write(ref _failed, cut);
            }

            throw;
        }

        try
        {
            SegmentFiles.SyncData(_segment);
        }
        catch (Exception e)
        {
            Volatile.Write(ref _failed, e);
            throw;
        }

        var offset = _offset;
        for (var i = start; i < end; i++)
        {
            batch[i].Completion.TrySetResult(new LogPosition(_nextSequence + (i - start), offset));
            offset += LogRecordFormat.HeaderSize + batch[i].Payload.Length;
        }

        _offset = newOffset;
        Interlocked.Add(ref _nextSequence, end - start);
    }

    /// <summary>Seals the current segment and starts the next, named by the next sequence, its name made durable.</summary>
    private void Roll()
    {
        var next = CreateSegment(_options.Directory, _nextSequence);
        _segment.Dispose();
        _segment = next;
        _offset = 0;
    }

    private static SafeFileHandle CreateSegment(string directory, long firstSequence)
    {
        var handle = File.OpenHandle(SegmentFiles.PathOf(directory, firstSequence), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        SegmentFiles.SyncDirectory(directory);
        return handle;
    }

    private sealed record Pending(ReadOnlyMemory<byte> Payload)
    {
        public TaskCompletionSource<LogPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
