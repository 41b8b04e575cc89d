using System.Buffers.Binary;
using System.Text;
using Hubgate.Storage;

namespace Hubgate.Webhooks.Store.Log;

/// <summary>
/// A delivery as one log record's payload: everything its inbox row holds (the App, the ids, the facts the receiver
/// parsed, the receipt time, the kept headers, the body's hash) and then the body as GitHub sent it. Indexing a record
/// again after a crash never parses a body. Little-endian: a version byte, then each field in turn — strings as a
/// 32-bit byte count (−1 for null) and UTF-8, numbers as 64 bits with a presence byte where they may be absent — and
/// the body's byte count and bytes last.
/// </summary>
internal static class LoggedDelivery
{
    private const byte Version = 1;

    /// <summary>The record for <paramref name="delivery"/> (its <see cref="WebhookDeliveryEntity.Id"/> is not part of it).</summary>
    public static byte[] Encode(WebhookDeliveryEntity delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var size = 1 + Size(delivery.App) + Size(delivery.DeliveryId) + Size(delivery.Event) + Size(delivery.Action)
                   + 3 * 9 + Size(delivery.RepositoryFullName) + 8 + Size(delivery.BodySha256) + Size(delivery.HeadersJson)
                   + 4 + delivery.Body.Length;
        var record = new byte[size];
        var span = record.AsSpan();
        span[0] = Version;
        var at = 1;
        Write(span, ref at, delivery.App);
        Write(span, ref at, delivery.DeliveryId);
        Write(span, ref at, delivery.Event);
        Write(span, ref at, delivery.Action);
        Write(span, ref at, delivery.InstallationId);
        Write(span, ref at, delivery.RepositoryId);
        Write(span, ref at, delivery.HookId);
        Write(span, ref at, delivery.RepositoryFullName);
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], delivery.ReceivedAt.UtcTicks);
        at += 8;
        Write(span, ref at, delivery.BodySha256);
        Write(span, ref at, delivery.HeadersJson);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], delivery.Body.Length);
        at += 4;
        delivery.Body.CopyTo(span[at..]);
        return record;
    }

    /// <summary>The delivery in <paramref name="record"/>; throws <see cref="InvalidDataException"/> for bytes that are not one.</summary>
    public static WebhookDeliveryEntity Decode(ReadOnlySpan<byte> record)
    {
        try
        {
            if (record.Length == 0 || record[0] != Version)
            {
                throw new InvalidDataException($"Not a delivery record of version {Version}.");
            }

            var at = 1;
            var app = ReadString(record, ref at)!;
            var deliveryId = ReadString(record, ref at)!;
            var @event = ReadString(record, ref at)!;
            var action = ReadString(record, ref at);
            var installation = ReadNumber(record, ref at);
            var repository = ReadNumber(record, ref at);
            var hook = ReadNumber(record, ref at);
            var repositoryName = ReadString(record, ref at);
            var received = new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(record[at..]), TimeSpan.Zero);
            at += 8;
            var hash = ReadString(record, ref at)!;
            var headers = ReadString(record, ref at);
            var length = BinaryPrimitives.ReadInt32LittleEndian(record[at..]);
            at += 4;
            if (length != record.Length - at)
            {
                throw new InvalidDataException("The record's body length does not match its size.");
            }

            return new WebhookDeliveryEntity
            {
                App = app, DeliveryId = deliveryId, Event = @event, Action = action, InstallationId = installation, RepositoryId = repository,
                HookId = hook, RepositoryFullName = repositoryName, ReceivedAt = received, BodySha256 = hash, HeadersJson = headers,
                Body = record[at..].ToArray(),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidDataException("The delivery record ends before its fields do.", e);
        }
    }

    /// <summary>The body alone, without reading the other fields (what a worker or a stream's reader needs).</summary>
    public static ReadOnlyMemory<byte> Body(ReadOnlyMemory<byte> record)
    {
        var span = record.Span;
        if (span.Length == 0 || span[0] != Version)
        {
            throw new InvalidDataException($"Not a delivery record of version {Version}.");
        }

        var at = 1;
        for (var field = 0; field < 4; field++)
        {
            Skip(span, ref at);
        }

        at += 3 * 9;
        Skip(span, ref at);
        at += 8;
        Skip(span, ref at);
        Skip(span, ref at);
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        return length == record.Length - at ? record[at..] : throw new InvalidDataException("The record's body length does not match its size.");
    }

    private static void Skip(ReadOnlySpan<byte> span, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4 + Math.Max(0, length);
    }

    private static int Size(string? value) => 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    private static void Write(Span<byte> span, ref int at, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], -1);
            at += 4;
            return;
        }

        var written = Encoding.UTF8.GetBytes(value, span[(at + 4)..]);
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], written);
        at += 4 + written;
    }

    private static void Write(Span<byte> span, ref int at, long? value)
    {
        span[at] = value.HasValue ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64LittleEndian(span[(at + 1)..], value ?? 0);
        at += 9;
    }

    private static string? ReadString(ReadOnlySpan<byte> span, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        if (length < 0)
        {
            return length == -1 ? null : throw new InvalidDataException("A string field has a negative length.");
        }

        var value = Encoding.UTF8.GetString(span.Slice(at, length));
        at += length;
        return value;
    }

    private static long? ReadNumber(ReadOnlySpan<byte> span, ref int at)
    {
        var present = span[at] == 1;
        var value = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 1)..]);
        at += 9;
        return present ? value : null;
    }
}
