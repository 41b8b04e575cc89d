using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hubgate.Webhooks;

/// <summary>The outcome of checking a delivery's signature.</summary>
internal enum SignatureCheck
{
    /// <summary>The HMAC of the body matches one of the secrets.</summary>
    Valid,
    /// <summary>Neither <c>X-Hub-Signature-256</c> nor <c>X-Hub-Signature</c> was sent.</summary>
    Missing,
    /// <summary>The value has no <c>algo=</c> part, or the digest is not hex of the algorithm's length.</summary>
    Malformed,
    /// <summary>An algorithm other than <c>sha256</c> or <c>sha1</c>.</summary>
    UnsupportedAlgorithm,
    /// <summary>Well formed, but no configured secret produces it.</summary>
    Mismatch,
}

/// <summary>
/// GitHub's webhook signature: <c>X-Hub-Signature-256: sha256=&lt;hex HMAC-SHA256 of the raw body&gt;</c>, with the
/// legacy <c>X-Hub-Signature: sha1=…</c> as fallback. Pure functions; the comparison is constant-time and every
/// secret is tried whichever matches, so timing tells neither the digest nor which secret is in use.
/// </summary>
internal static class WebhookSignature
{
    public const string Sha256Header = "X-Hub-Signature-256";
    public const string Sha1Header = "X-Hub-Signature";

    /// <summary>Checks <paramref name="body"/> against the header values, preferring SHA-256 when both are present.</summary>
    public static SignatureCheck Verify(ReadOnlySpan<byte> body, string? sha256Header, string? sha1Header, IReadOnlyList<byte[]> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var parsed = Parse(sha256Header, sha1Header, ref expected);
        if (parsed != SignatureCheck.Valid)
        {
            return parsed;
        }

        Span<byte> actual = stackalloc byte[expected.Length];
        var match = false;
        for (var i = 0; i < secrets.Count; i++)
        {
            var secret = secrets[i];
            if (expected.Length == HMACSHA256.HashSizeInBytes)
            {
                HMACSHA256.HashData(secret, body, actual);
            }
            else
            {
#pragma warning disable CA5350 // GitHub's legacy X-Hub-Signature is HMAC-SHA1; accepted only when no SHA-256 header is sent.
                HMACSHA1.HashData(secret, body, actual);
#pragma warning restore CA5350
            }

            match |= DigestEquals(actual, expected);
        }

        return match ? SignatureCheck.Valid : SignatureCheck.Mismatch;
    }

    /// <summary>
    /// Checks a body held in several buffers (as the endpoint reads it, before it is verified) without joining them.
    /// </summary>
    public static SignatureCheck Verify(in ReadOnlySequence<byte> body, string? sha256Header, string? sha1Header, IReadOnlyList<byte[]> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (body.IsSingleSegment)
        {
            return Verify(body.FirstSpan, sha256Header, sha1Header, secrets);
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var parsed = Parse(sha256Header, sha1Header, ref expected);
        if (parsed != SignatureCheck.Valid)
        {
            return parsed;
        }

        var algorithm = expected.Length == HMACSHA256.HashSizeInBytes ? HashAlgorithmName.SHA256 : HashAlgorithmName.SHA1;
        Span<byte> actual = stackalloc byte[expected.Length];
        var match = false;
        for (var i = 0; i < secrets.Count; i++)
        {
            using var hmac = IncrementalHash.CreateHMAC(algorithm, secrets[i]);
            foreach (var segment in body)
            {
                hmac.AppendData(segment.Span);
            }

            hmac.GetHashAndReset(actual);
            match |= DigestEquals(actual, expected);
        }

        return match ? SignatureCheck.Valid : SignatureCheck.Mismatch;
    }

    /// <summary>
    /// Reads the header GitHub's check uses (SHA-256 when sent, else SHA-1) into <paramref name="expected"/>, cut to the
    /// algorithm's digest length. <see cref="SignatureCheck.Valid"/> means only "well formed".
    /// </summary>
    private static SignatureCheck Parse(string? sha256Header, string? sha1Header, ref Span<byte> expected)
    {
        var header = !string.IsNullOrEmpty(sha256Header) ? sha256Header : sha1Header;
        if (string.IsNullOrEmpty(header))
        {
            return SignatureCheck.Missing;
        }

        var equals = header.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return SignatureCheck.Malformed;
        }

        var algorithm = header.AsSpan(0, equals).Trim();
        int size;
        if (algorithm.Equals("sha256", StringComparison.OrdinalIgnoreCase))
        {
            size = HMACSHA256.HashSizeInBytes;
        }
        else if (algorithm.Equals("sha1", StringComparison.OrdinalIgnoreCase))
        {
            size = HMACSHA1.HashSizeInBytes;
        }
        else
        {
            return SignatureCheck.UnsupportedAlgorithm;
        }

        var hex = header.AsSpan(equals + 1).Trim();
        expected = expected[..size];
        return hex.Length != size * 2 || Convert.FromHexString(hex, expected, out _, out var written) != OperationStatus.Done || written != size
            ? SignatureCheck.Malformed
            : SignatureCheck.Valid;
    }

    /// <summary>Verifies with string secrets (UTF-8), for callers outside the endpoint.</summary>
    public static SignatureCheck Verify(ReadOnlySpan<byte> body, string? sha256Header, string? sha1Header, IEnumerable<string> secrets) =>
        Verify(body, sha256Header, sha1Header, Encode(secrets));

    /// <summary>The <c>X-Hub-Signature-256</c> value GitHub would send for <paramref name="body"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> body, string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return "sha256=" + Convert.ToHexStringLower(mac);
    }

    /// <summary>The <c>X-Hub-Signature</c> (SHA-1) value GitHub would send for <paramref name="body"/>.</summary>
    public static string SignSha1(ReadOnlySpan<byte> body, string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
#pragma warning disable CA5350 // producing GitHub's legacy header for tests and tools
        HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
#pragma warning restore CA5350
        return "sha1=" + Convert.ToHexStringLower(mac);
    }

    internal static byte[][] Encode(IEnumerable<string> secrets) => secrets.Select(Encoding.UTF8.GetBytes).ToArray();

    /// <summary>
    /// Whether two digests are equal, in time that does not depend on where they differ. A SHA-256 digest (32 bytes) is
    /// compared as four 64-bit words, XORed and ORed together with no branch and no loop, so there is nothing to stop
    /// early; other lengths (SHA-1's 20 bytes) go to <see cref="CryptographicOperations.FixedTimeEquals"/>. That method is
    /// compiled without optimization on purpose and took about 190 ns for 32 bytes — 2–3 % of checking an 8 KB push,
    /// against a target of 5 % for the whole of the check's own work (docs/benchmarks.md).
    /// </summary>
    internal static bool DigestEquals(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != HMACSHA256.HashSizeInBytes || right.Length != HMACSHA256.HashSizeInBytes)
        {
            return CryptographicOperations.FixedTimeEquals(left, right);
        }

        var difference =
            (BinaryPrimitives.ReadUInt64LittleEndian(left) ^ BinaryPrimitives.ReadUInt64LittleEndian(right)) |
            (BinaryPrimitives.ReadUInt64LittleEndian(left[8..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(right[8..])) |
            (BinaryPrimitives.ReadUInt64LittleEndian(left[16..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(right[16..])) |
            (BinaryPrimitives.ReadUInt64LittleEndian(left[24..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(right[24..]));
        return difference == 0;
    }
}
