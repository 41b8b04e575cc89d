using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Hubgate.Testing;

/// <summary>
/// Webhook deliveries signed as GitHub signs them for a GitHub App: the exact payload bytes, the event and delivery id
/// headers, the hook headers naming the App, and both signatures (<c>X-Hub-Signature-256</c> and the legacy
/// <c>X-Hub-Signature</c>). The signing is written independently of Hubgate's own, so that a shared mistake cannot pass
/// unnoticed.
/// </summary>
public static class WebhookDelivery
{
    /// <summary>The App id the hook headers name when none is given (the fake's default primary App).</summary>
    public const long DefaultAppId = FakeGitHubOptions.DefaultAppId;

    /// <summary>
    /// A delivery as GitHub sends it: <c>POST</c> to <paramref name="target"/> (absolute, or relative to an
    /// <see cref="HttpClient.BaseAddress"/>) with <paramref name="payload"/> as <c>application/json</c>, signed with
    /// <paramref name="secret"/> (unsigned when null, as a webhook without a secret is).
    /// </summary>
    /// <param name="target">Where to send it, e.g. <c>/webhooks/github</c>.</param>
    /// <param name="event">The <c>X-GitHub-Event</c> header: <c>push</c>, <c>pull_request</c>, …</param>
    /// <param name="payload">The JSON body, sent and signed byte for byte.</param>
    /// <param name="secret">The App's webhook secret; null sends no signature.</param>
    /// <param name="deliveryId">The <c>X-GitHub-Delivery</c> id; a new GUID when null.</param>
    /// <param name="appId">The App the <c>X-GitHub-Hook-Installation-Target-ID</c> header names.</param>
    /// <returns>The request, which the caller sends and disposes.</returns>
    public static HttpRequestMessage CreateRequest(Uri target, string @event, byte[] payload, string? secret, string? deliveryId = null,
        long appId = DefaultAppId)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(@event);
        ArgumentNullException.ThrowIfNull(payload);
        var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", "GitHub-Hookshot/044aadd");
        request.Headers.TryAddWithoutValidation("X-GitHub-Event", @event);
        request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", deliveryId ?? Guid.NewGuid().ToString());
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-ID", "292430182");
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-Type", "integration");
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-ID", appId.ToString(CultureInfo.InvariantCulture));
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Hub-Signature", SignSha1(payload, secret));
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", SignSha256(payload, secret));
        }

        return request;
    }

    /// <summary>The <c>X-Hub-Signature-256</c> value of the exact bytes: <c>sha256=</c> and the lower-case hex HMAC.</summary>
    public static string SignSha256(byte[] payload, string secret)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(secret);
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), payload));
    }

    /// <summary>The legacy <c>X-Hub-Signature</c> value: <c>sha1=</c> and the lower-case hex HMAC-SHA1.</summary>
    public static string SignSha1(byte[] payload, string secret)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(secret);
#pragma warning disable CA5350 // GitHub's legacy webhook signature
        return "sha1=" + Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), payload));
#pragma warning restore CA5350
    }
}

/// <summary>What the receiver answered to a delivery the fake sent.</summary>
/// <param name="DeliveryId">The <c>X-GitHub-Delivery</c> id it carried.</param>
/// <param name="StatusCode">The HTTP status of the answer.</param>
/// <param name="Body">The answer's body as text.</param>
public sealed record SentDelivery(string DeliveryId, int StatusCode, string Body);
