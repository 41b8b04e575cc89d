using System.Buffers.Binary;
using System.IO.Hashing;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// How one record lies in a segment: a 24-byte header, then the payload. The header has a CRC of its own, so that a
/// reader can tell a damaged length (framing lost: search for the next valid header) from a damaged payload (framing
/// kept: skip exactly this record), and can recognise a header among arbitrary bytes when it searches.
/// <code>
/// offset 0  u32  magic "HGL1"
///        4  u32  payload length
///        8  u64  sequence (1, 2, 3, … across segments)
///       16  u32  CRC-32C of the payload
///       20  u32  CRC-32C of bytes 0..19
/// </code>
/// All little-endian.
/// </summary>
internal static class LogRecordFormat
{
    public const int HeaderSize = 24;

    /// <summary>"HGL1" read as a little-endian u32.</summary>
    public const uint Magic = 0x314C4748;

    public static ReadOnlySpan<byte> MagicBytes => "HGL1"u8;

    public static uint Checksum(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);

    public static void WriteHeader(Span<byte> header, long sequence, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Checksum(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], Checksum(header[..20]));
    }

    /// <summary>Whether <paramref name="header"/> is an intact header (magic and its own CRC), and what it says.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out RecordHeader read)
    {
        read = default;
        if (header.Length < HeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[20..]) != Checksum(header[..20]))
        {
            return false;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        if (length < 0 || sequence <= 0)
        {
            return false;
        }

        read = new RecordHeader(length, sequence, BinaryPrimitives.ReadUInt32LittleEndian(header[16..]));
        return true;
    }
}

/// <summary>An intact record header.</summary>
internal readonly record struct RecordHeader(int PayloadLength, long Sequence, uint PayloadChecksum)
{
    public long RecordLength => LogRecordFormat.HeaderSize + (long)PayloadLength;
}
