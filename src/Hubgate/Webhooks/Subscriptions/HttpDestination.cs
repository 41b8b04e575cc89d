using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// Sends a delivery to an HTTP subscription: a POST of the exact bytes GitHub sent, with GitHub's headers
/// (<c>X-GitHub-Event</c>, <c>X-GitHub-Delivery</c>, <c>X-GitHub-Hook-ID</c>, <c>X-GitHub-Hook-Installation-Target-*</c>,
/// <c>X-Hub-Signature-256</c>) and Standard Webhooks' (<c>webhook-id</c>, <c>webhook-timestamp</c>,
/// <c>webhook-signature</c>), both signed with the subscription's key, so an Octokit or a Standard Webhooks receiver
/// works unchanged. 2xx is delivered; 410 is gone; anything else, a timeout or a refused connection is a failure to retry.
/// Redirects are not followed (a 3xx is a failure), no proxy is used, and the address is checked at connect time
/// (<see cref="DestinationAddressPolicy"/>).
/// </summary>
internal sealed class HttpDestination(HttpClient client, TimeProvider time)
{
    public const string UserAgent = "Hubgate-Subscriptions/1";

    /// <summary>The handler every HTTP subscription's client is built on.</summary>
    public static SocketsHttpHandler CreateHandler(bool allowLoopback) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = DestinationAddressPolicy.SafeConnect(allowLoopback),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.None,
    };

    public async Task<AttemptResult> SendAsync(Uri url, SubscriptionKey key, OutgoingDelivery delivery, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(delivery);
        var started = Stopwatch.GetTimestamp();
        using var request = new HttpRequestMessage(HttpMethod.Post, url);
        var content = new ReadOnlyMemoryContent(delivery.Body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content = content;
        var headers = request.Headers;
        headers.TryAddWithoutValidation("User-Agent", UserAgent);
        headers.TryAddWithoutValidation("X-GitHub-Event", delivery.Event);
        headers.TryAddWithoutValidation("X-GitHub-Delivery", delivery.DeliveryId);
        if (delivery.HookId is { } hookId)
        {
            headers.TryAddWithoutValidation("X-GitHub-Hook-ID", hookId);
        }

        if (delivery.TargetId is { } targetId)
        {
            headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-ID", targetId);
        }

        if (delivery.TargetType is { } targetType)
        {
            headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-Type", targetType);
        }

        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        headers.TryAddWithoutValidation(SubscriptionSignature.GitHubHeader, SubscriptionSignature.GitHub(key.Bytes, delivery.Body.Span));
        headers.TryAddWithoutValidation(SubscriptionSignature.StandardIdHeader, delivery.DeliveryId);
        headers.TryAddWithoutValidation(SubscriptionSignature.StandardTimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        headers.TryAddWithoutValidation(SubscriptionSignature.StandardSignatureHeader,
            SubscriptionSignature.Standard(key.Bytes, delivery.DeliveryId, timestamp, delivery.Body.Span));

        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var elapsed = Stopwatch.GetElapsedTime(started);
            return status switch
            {
                >= 200 and < 300 => new AttemptResult(AttemptOutcome.Delivered, status, null, elapsed),
                410 => new AttemptResult(AttemptOutcome.Gone, status, "The destination answered 410 Gone.", elapsed),
                >= 300 and < 400 => new AttemptResult(AttemptOutcome.Failed, status,
                    $"The destination answered {status} (a redirect{(response.Headers.Location is { } to ? $" to {new Uri(url, to).GetLeftPart(UriPartial.Path)}" : "")}); redirects are not followed: set the subscription's Url to the final address.", elapsed),
                _ => new AttemptResult(AttemptOutcome.Failed, status, $"The destination answered {status} {response.ReasonPhrase}.", elapsed),
            };
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(AttemptOutcome.Failed, null,
                $"The destination did not answer within the subscription's Timeout ({timeout}).", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException e)
        {
            var why = e.InnerException is DestinationRefusedException refused ? refused.Message : e.Message;
            return new AttemptResult(AttemptOutcome.Failed, null, $"Could not reach the destination: {why}", Stopwatch.GetElapsedTime(started));
        }
    }
}
