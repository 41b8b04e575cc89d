namespace Hubgate.Testing;

/// <summary>Sending webhook deliveries the way GitHub does, to the receiver under test.</summary>
public sealed partial class FakeGitHubServer
{
    private readonly HttpClient _deliveryClient = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// Sends a delivery of <paramref name="event"/> to <paramref name="target"/> as GitHub sends an App's webhooks
    /// (<see cref="WebhookDelivery.CreateRequest"/>): the payload byte for byte, signed with the App's webhook secret,
    /// the hook headers naming the App. GitHub gives a receiver 10 seconds to answer; so does the fake.
    /// </summary>
    /// <param name="target">The receiver's absolute URL, e.g. <c>http://127.0.0.1:5080/webhooks/github</c>.</param>
    /// <param name="event">The <c>X-GitHub-Event</c>: <c>push</c>, <c>pull_request</c>, <c>installation</c>, …</param>
    /// <param name="payload">The JSON body (e.g. from <see cref="Push"/>, <see cref="PullRequestPayload"/>, <see cref="InstallationCreatedPayload"/>).</param>
    /// <param name="appId">The App whose delivery it is (its webhook secret signs it); the primary App when null.</param>
    /// <param name="secret">Sign with this secret instead of the App's (to test a receiver's refusal).</param>
    /// <param name="deliveryId">The <c>X-GitHub-Delivery</c> id; a new GUID when null.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The delivery id and the receiver's answer.</returns>
    public async Task<SentDelivery> SendDeliveryAsync(Uri target, string @event, byte[] payload, long? appId = null, string? secret = null,
        string? deliveryId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.IsAbsoluteUri)
        {
            throw new ArgumentException("The delivery's target must be an absolute URL.", nameof(target));
        }

        var app = App(appId ?? _primary.Id);
        deliveryId ??= Guid.NewGuid().ToString();
        using var request = WebhookDelivery.CreateRequest(target, @event, payload, secret ?? app.WebhookSecret, deliveryId, app.Id);
        using var response = await _deliveryClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new SentDelivery(deliveryId, (int)response.StatusCode, body);
    }
}
