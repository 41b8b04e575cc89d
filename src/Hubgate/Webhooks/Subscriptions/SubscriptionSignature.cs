using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// The two signatures a delivery carries to a subscriber, both HMAC-SHA256 with the subscription's key: GitHub's
/// <c>X-Hub-Signature-256: sha256=&lt;hex of HMAC(body)&gt;</c> and Standard Webhooks'
/// <c>webhook-signature: v1,&lt;base64 of HMAC("id.timestamp.body")&gt;</c>. Pure functions over bytes.
/// </summary>
internal static class SubscriptionSignature
{
    public const string GitHubHeader = "X-Hub-Signature-256";
    public const string StandardIdHeader = "webhook-id";
    public const string StandardTimestampHeader = "webhook-timestamp";
    public const string StandardSignatureHeader = "webhook-signature";

    /// <summary><c>sha256=</c> + lowercase hex of HMAC-SHA256(key, body), as GitHub sends it.</summary>
    public static string GitHub(ReadOnlySpan<byte> key, ReadOnlySpan<byte> body)
    {
        Span<byte> digest = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, body, digest);
        return "sha256=" + Convert.ToHexStringLower(digest);
    }

    /// <summary><c>v1,</c> + base64 of HMAC-SHA256(key, <c>{id}.{timestamp}.{body}</c>), timestamp in Unix seconds.</summary>
    public static string Standard(ReadOnlySpan<byte> key, string id, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.");
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(prefix);
        hmac.AppendData(body);
        Span<byte> digest = stackalloc byte[HMACSHA256.HashSizeInBytes];
        hmac.GetHashAndReset(digest);
        return "v1," + Convert.ToBase64String(digest);
    }
}
