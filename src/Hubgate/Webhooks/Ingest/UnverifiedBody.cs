using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Hubgate.Telemetry;

namespace Hubgate.Webhooks;

/// <summary>
/// The bytes of every request body not yet verified, counted across all requests of the process against
/// <c>Webhooks:MaxUnverifiedBytesInFlight</c>. A body is held in pooled chunks that are counted as they are taken, so
/// memory follows the bytes a client has actually sent, never the length it declared.
/// </summary>
internal sealed class UnverifiedBodyBudget
{
    private long _inFlight;

    /// <summary>The bytes held now for bodies being read or verified.</summary>
    public long InFlight => Interlocked.Read(ref _inFlight);

    /// <summary>Counts <paramref name="bytes"/> in, unless that would take the total past <paramref name="limit"/>.</summary>
    internal bool TryReserve(int bytes, long limit)
    {
        var current = Interlocked.Read(ref _inFlight);
        while (true)
        {
            if (current + bytes > limit)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _inFlight, current + bytes, current);
            if (seen == current)
            {
                HubgateTelemetry.UnverifiedBytes.Add(bytes);
                return true;
            }

            current = seen;
        }
    }

    internal void Release(long bytes)
    {
        Interlocked.Add(ref _inFlight, -bytes);
        HubgateTelemetry.UnverifiedBytes.Add(-bytes);
    }
}

/// <summary>How reading a body ended.</summary>
internal enum BodyRead
{
    Complete,
    /// <summary>More than GitHub's 25 MiB: refused while reading.</summary>
    TooLarge,
    /// <summary>Holding it would take the unverified bytes in flight past the bound.</summary>
    OverBudget,
}

/// <summary>
/// A request body read into pooled 64 KiB chunks (smaller when the declared length is smaller), each counted against
/// the <see cref="UnverifiedBodyBudget"/> before it is taken and given back on <see cref="Dispose"/>. Whatever the
/// framing says — a <c>Content-Length</c> of 25 MiB with one byte sent holds one chunk — and capped at 25 MiB.
/// </summary>
internal sealed class UnverifiedBody : IDisposable
{
    private const int ChunkSize = 64 * 1024;
    private readonly List<byte[]> _chunks = [];
    private readonly UnverifiedBodyBudget _budget;
    private long _reserved;

    private UnverifiedBody(UnverifiedBodyBudget budget) => _budget = budget;

    public long Length { get; private set; }

    /// <summary>Reads <paramref name="stream"/> to its end; the body is returned (to be disposed) when the read completed.</summary>
    public static async Task<(BodyRead Result, UnverifiedBody? Body)> ReadAsync(Stream stream, long? declaredLength, UnverifiedBodyBudget budget,
        long maxInFlight, CancellationToken cancellationToken)
    {
        const long limit = WebhookOptions.GitHubMaxBodyBytes;
        var body = new UnverifiedBody(budget);
        try
        {
            while (true)
            {
                var size = declaredLength is { } declared ? (int)Math.Clamp(declared - body.Length, 1, ChunkSize) : ChunkSize;
                var chunk = ArrayPool<byte>.Shared.Rent(size);
                if (!budget.TryReserve(chunk.Length, maxInFlight))
                {
                    ArrayPool<byte>.Shared.Return(chunk);
                    body.Dispose();
                    return (BodyRead.OverBudget, null);
                }

                body._reserved += chunk.Length;
                body._chunks.Add(chunk);
                var filled = 0;
                while (filled < chunk.Length)
                {
                    var read = await stream.ReadAsync(chunk.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                    body.Length += read;
                    if (body.Length > limit)
                    {
                        body.Dispose();
                        return (BodyRead.TooLarge, null);
                    }
                }

                if (filled < chunk.Length)
                {
                    return (BodyRead.Complete, body);
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>The body as one sequence over the chunks (no copy).</summary>
    public ReadOnlySequence<byte> Sequence
    {
        get
        {
            if (_chunks.Count == 1)
            {
                return new ReadOnlySequence<byte>(_chunks[0], 0, (int)Length);
            }

            Segment? first = null, last = null;
            var left = Length;
            foreach (var chunk in _chunks)
            {
                var count = (int)Math.Min(chunk.Length, left);
                left -= count;
                var segment = new Segment(chunk.AsMemory(0, count), last);
                first ??= segment;
                last = segment;
            }

            return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
        }
    }

    /// <summary>The body in one exactly sized array (made once the signature is verified).</summary>
    public byte[] ToArray()
    {
        var array = GC.AllocateUninitializedArray<byte>((int)Length);
        Sequence.CopyTo(array);
        return array;
    }

    public void Dispose()
    {
        foreach (var chunk in _chunks)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        _chunks.Clear();
        _budget.Release(_reserved);
        _reserved = 0;
    }

    [SuppressMessage("Design", "CA1812", Justification = "Instantiated above.")]
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
