using System.Web;

namespace Hubgate.Webhooks;

/// <summary>
/// A delivery's JSON from its stored body. A webhook configured with <c>content_type: json</c> sends the JSON itself;
/// one with <c>content_type: form</c> sends <c>application/x-www-form-urlencoded</c> with the JSON in the <c>payload</c>
/// field. The inbox keeps the body exactly as it was signed — so the signature can be checked again and the delivery
/// replayed byte for byte — and this reads the JSON out of it. The two cannot be confused: a stored JSON body is an
/// object (its first byte after JSON whitespace is <c>{</c>), and the receiver refuses a form body that starts with
/// either (GitHub's starts with <c>payload=</c>).
/// </summary>
internal static class WebhookPayload
{
    public const string FormContentType = "application/x-www-form-urlencoded";

    /// <summary>Whether <paramref name="body"/> starts as a JSON object can: with <c>{</c> or JSON whitespace.</summary>
    public static bool StartsAsJson(ReadOnlySpan<byte> body) => body is [(byte)'{' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n', ..];

    /// <summary>The JSON of a stored body: the body itself, or the decoded <c>payload</c> field of a form body.</summary>
    /// <exception cref="InvalidDataException">A stored form body has no <c>payload</c> field (a damaged row).</exception>
    public static ReadOnlyMemory<byte> Json(byte[] stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Length == 0 || StartsAsJson(stored))
        {
            return stored;
        }

        return TryReadForm(stored, out var json)
            ? json
            : throw new InvalidDataException("A stored webhook body is neither JSON nor a form with a payload field: the row is damaged.");
    }

    /// <summary>
    /// The decoded value of the one <c>payload</c> field of a form body (<c>+</c> and <c>%XX</c> decoded, as
    /// <c>application/x-www-form-urlencoded</c> says). False when there is none, or more than one.
    /// </summary>
    public static bool TryReadForm(byte[] form, out byte[] json)
    {
        json = [];
        var found = false;
        foreach (var range in form.AsSpan().Split((byte)'&'))
        {
            var field = form.AsSpan(range);
            var equals = field.IndexOf((byte)'=');
            if (equals < 0 || !field[..equals].SequenceEqual("payload"u8))
            {
                continue;
            }

            if (found)
            {
                return false;
            }

            var (offset, length) = range.GetOffsetAndLength(form.Length);
            json = HttpUtility.UrlDecodeToBytes(form, offset + equals + 1, length - equals - 1);
            found = true;
        }

        return found;
    }
}
