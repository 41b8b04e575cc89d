using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using K4os.Compression.LZ4;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Storage;

/// <summary>
/// Webhook bodies as SQLite stores them. GitHub's JSON compresses about 3.4× with LZ4 (8,827 → 2,573 bytes for a push,
/// about 7 µs to compress and 1.5 µs to decompress), and every byte saved is written twice (the log, then the
/// checkpoint) and synced. Brotli at quality 1, used before, saved a quarter more bytes (1,947) at 3–5 times the CPU
/// (20–38 µs to compress, 10 µs to decompress): on a two-core machine under ingest load the CPU is the limit, not the
/// disk. Rows Brotli wrote still read. PostgreSQL compresses large values itself (TOAST), so it stores bodies as they
/// came.
/// <para>
/// A stored body that starts with a zero byte is encoded: <c>0x00 0x02</c>, the body's length (4 bytes,
/// little-endian) and an LZ4 block; <c>0x00 0x01</c>, the length and a Brotli stream (rows written before LZ4); or
/// <c>0x00 0x00</c> and the body as it is, for a body that itself starts with a zero byte. Anything else is the body
/// itself: bodies stored before compression existed, bodies under <see cref="CompressFrom"/>, bodies that did not get
/// smaller, and bodies of <see cref="CompressBelow"/> or more (streamed into the database as they are, so a 25 MiB
/// delivery never needs a second buffer). The receiver stores only JSON objects, and no JSON text starts with a zero
/// byte, so bodies stored before this encoding existed read as they are.
/// </para>
/// </summary>
internal static class BodyCodec
{
    /// <summary>Smaller bodies are stored as they are: the saving would not pay for the work.</summary>
    public const int CompressFrom = 1024;

    /// <summary>Larger bodies are streamed into the database as they are (see the inbox's insert).</summary>
    public const int CompressBelow = 64 * 1024;

    private const byte Marker = 0x00;
    private const byte Identity = 0x00;
    private const byte Brotli = 0x01;
    private const byte Lz4 = 0x02;
    private const int HeaderLength = 6;

    /// <summary>The EF Core conversion for the body column on SQLite: encoded when written, decoded when read.</summary>
    public static ValueConverter<byte[], byte[]> Converter { get; } = new(body => Encode(body), stored => Decode(stored));

    /// <summary>
    /// How EF Core tells a body changed: by reference. A stored body is never changed in place (only replaced), and
    /// comparing or snapshotting by content would copy up to 25 MB per tracked delivery.
    /// </summary>
    public static ValueComparer<byte[]> Comparer { get; } = new(
        (a, b) => ReferenceEquals(a, b), body => RuntimeHelpers.GetHashCode(body), body => body);

    /// <summary>The bytes to store for <paramref name="body"/> (the same array when it is stored as it is).</summary>
    public static byte[] Encode(byte[] body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Length < CompressFrom || body.Length >= CompressBelow)
        {
            return AsIs(body);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + LZ4Codec.MaximumOutputSize(body.Length));
        try
        {
            var written = LZ4Codec.Encode(body, buffer.AsSpan(HeaderLength), LZ4Level.L00_FAST);
            if (written <= 0 || HeaderLength + written >= body.Length)
            {
                return AsIs(body);
            }

            buffer[0] = Marker;
            buffer[1] = Lz4;
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(2), body.Length);
            return buffer.AsSpan(0, HeaderLength + written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The body stored as <paramref name="stored"/>.</summary>
    /// <exception cref="InvalidDataException">The stored body is marked encoded but cannot be decoded (a damaged row).</exception>
    public static byte[] Decode(byte[] stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Length == 0 || stored[0] != Marker)
        {
            return stored;
        }

        if (stored.Length >= 2 && stored[1] == Identity)
        {
            return stored[2..];
        }

        if (!IsEncoded(stored))
        {
            throw new InvalidDataException("A stored webhook body starts with an encoding marker Hubgate does not know: the row is damaged.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(stored.AsSpan(2));
        if (length is < 0 or >= CompressBelow)
        {
            throw new InvalidDataException($"A stored webhook body claims {length} bytes, outside what is ever compressed: the row is damaged.");
        }

        var body = new byte[length];
        var written = stored[1] == Lz4
            ? LZ4Codec.Decode(stored.AsSpan(HeaderLength), body)
            : BrotliDecoder.TryDecompress(stored.AsSpan(HeaderLength), body, out var decompressed) ? decompressed : -1;
        if (written != length)
        {
            throw new InvalidDataException("A stored webhook body does not decompress to its recorded length: the row is damaged.");
        }

        return body;
    }

    /// <summary>
    /// The body as it is — unless it starts with a zero byte, which marks an encoded body: then marked as stored as it is.
    /// </summary>
    private static byte[] AsIs(byte[] body) => body is [Marker, ..] ? [Marker, Identity, .. body] : body;

    /// <summary>Whether <paramref name="stored"/> is in the compressed form.</summary>
    public static bool IsEncoded(ReadOnlySpan<byte> stored) =>
        stored.Length >= HeaderLength && stored[0] == Marker && stored[1] is Lz4 or Brotli;
}
