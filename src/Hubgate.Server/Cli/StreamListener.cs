using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Server.Cli;

/// <summary>Where <c>hubgate listen --forward</c> posts each delivery, and the local receiver's key it signs with.</summary>
internal sealed record StreamForwarding(Uri Url, SubscriptionKey Key);

/// <summary>
/// The client side of a stream subscription (<c>hubgate listen</c>): reads <c>/api/subscriptions/{name}/events</c>,
/// handles each delivery (prints it, or forwards it — again and again while the local URL is down — and prints the
/// answer), acknowledges it, and after a dropped connection connects again with <c>Last-Event-ID</c> set to the last
/// delivery it handled, waiting 1 s, 2 s, … up to <see cref="MaxBackoff"/> between tries. Nothing handled is lost and
/// nothing unhandled is acknowledged.
/// </summary>
internal sealed class StreamListener : IDisposable
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>How long one forward may take (as an HTTP subscription's default <c>Timeout</c>).</summary>
    private static readonly TimeSpan ForwardTimeout = TimeSpan.FromSeconds(15);

    private readonly HttpClient _hubgate;
    private readonly Uri _events;
    private readonly Uri _ack;
    private readonly string _subscription;
    private readonly string _key;
    private readonly StreamForwarding? _forwarding;
    private readonly HttpDestination? _destination;
    private readonly HttpClient? _local;
    private readonly TextWriter _output;
    private readonly TextWriter _error;
    private readonly TimeProvider _time;

    public StreamListener(Uri server, string subscription, string key, StreamForwarding? forwarding, TextWriter output, TextWriter error, TimeProvider time)
    {
        var root = server.AbsoluteUri.TrimEnd('/');
        _events = new Uri($"{root}/api/subscriptions/{subscription}/events");
        _ack = new Uri($"{root}/api/subscriptions/{subscription}/ack");
        _subscription = subscription;
        _key = key;
        _forwarding = forwarding;
        _output = output;
        _error = error;
        _time = time;
        // The stream is open for hours: no overall timeout; a connection that cannot be made fails within ConnectTimeout.
        _hubgate = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) }) { Timeout = Timeout.InfiniteTimeSpan };
        if (forwarding is not null)
        {
            // The local receiver is on this machine (loopback allowed); link-local and metadata addresses stay refused.
            _local = new HttpClient(HttpDestination.CreateHandler(allowLoopback: true)) { Timeout = Timeout.InfiniteTimeSpan };
            _destination = new HttpDestination(_local, time);
        }
    }

    /// <summary>Listens until <paramref name="cancellationToken"/> fires (0) or Hubgate refuses the listener (2).</summary>
    public async Task<int> RunAsync(long? from, CancellationToken cancellationToken)
    {
        var last = from;
        var backoff = FirstBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, _events);
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
                request.Headers.Accept.ParseAdd("text/event-stream");
                if (last is { } after)
                {
                    request.Headers.TryAddWithoutValidation("Last-Event-ID", after.ToString(CultureInfo.InvariantCulture));
                }

                using var response = await _hubgate.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    var (detail, status) = await DetailAsync(response, cancellationToken);
                    if (response.StatusCode == HttpStatusCode.Conflict && status == "paused")
                    {
                        // Paused is for a while: its deliveries are kept, and the stream goes on from here once resumed.
                        await _error.WriteLineAsync($"Subscription {_subscription} is paused; waiting for it to be resumed (asking again in {backoff.TotalSeconds:0} s).");
                        if (!await DelayAsync(backoff, cancellationToken))
                        {
                            break;
                        }

                        backoff = Next(backoff);
                        continue;
                    }

                    if ((int)response.StatusCode is >= 400 and < 500 and not (int)HttpStatusCode.TooManyRequests)
                    {
                        await _error.WriteLineAsync($"hubgate listen: {(int)response.StatusCode} {detail}");
                        return 2;
                    }

                    throw new HttpRequestException($"{(int)response.StatusCode} {detail}");
                }

                await _output.WriteLineAsync($"Listening to subscription {_subscription} on {_events.GetLeftPart(UriPartial.Authority)}, " +
                                             (last is null ? "from the oldest delivery not acknowledged." : $"after delivery {last}."));
                backoff = FirstBackoff;
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                await using (stream)
                {
                    await foreach (var item in SseParser.Create(stream, (_, data) => data.ToArray()).EnumerateAsync(cancellationToken))
                    {
                        var delivery = StreamedDelivery.Parse(item.Data);
                        await HandleAsync(delivery, cancellationToken);
                        last = delivery.Sequence;
                    }
                }

                await _error.WriteLineAsync($"The stream ended; connecting again in {backoff.TotalSeconds:0} s.");
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException && !cancellationToken.IsCancellationRequested)
            {
                await _error.WriteLineAsync($"Connection to {_events.GetLeftPart(UriPartial.Authority)} lost ({e.Message}); connecting again in {backoff.TotalSeconds:0} s" +
                                            (last is null ? "." : $", after delivery {last}."));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            if (!await DelayAsync(backoff, cancellationToken))
            {
                break;
            }

            backoff = Next(backoff);
        }

        await _output.WriteLineAsync("Stopped.");
        return 0;
    }

    /// <summary>Prints or forwards one delivery (forwarding until the local URL takes it), then acknowledges it.</summary>
    private async Task HandleAsync(StreamedDelivery delivery, CancellationToken cancellationToken)
    {
        var line = $"{delivery.Sequence}  {delivery.Event}{(delivery.Action is null ? "" : "." + delivery.Action)}  {delivery.Repository ?? "-"}  {delivery.DeliveryId}";
        if (_forwarding is { } forwarding)
        {
            var wait = FirstBackoff;
            while (true)
            {
                var result = await _destination!.SendAsync(forwarding.Url, forwarding.Key, delivery.Outgoing(), ForwardTimeout, cancellationToken);
                if (result.Outcome == AttemptOutcome.Delivered)
                {
                    line += $"  → {result.Status}";
                    break;
                }

                await _error.WriteLineAsync($"{delivery.Sequence}: {result.Error} Trying again in {wait.TotalSeconds:0} s.");
                await Task.Delay(wait, _time, cancellationToken);
                wait = Next(wait);
            }
        }

        await _output.WriteLineAsync(line);
        await AcknowledgeAsync(delivery.Sequence, cancellationToken);
    }

    /// <summary>
    /// Acknowledges everything up to <paramref name="sequence"/>. A failed acknowledgement is only reported: the next one
    /// covers it, and at worst a listener started again gets a delivery twice.
    /// </summary>
    private async Task AcknowledgeAsync(long sequence, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{_ack}?sequence={sequence.ToString(CultureInfo.InvariantCulture)}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ForwardTimeout);
            using var response = await _hubgate.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                await _error.WriteLineAsync($"{sequence}: not acknowledged: {(int)response.StatusCode} {(await DetailAsync(response, cancellationToken)).Detail}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await _error.WriteLineAsync($"{sequence}: not acknowledged ({e.Message}); the next acknowledgement covers it.");
        }
    }

    /// <summary>A refusal's problem detail (or the start of its body), and the subscription's status when the refusal gives it.</summary>
    private static async Task<(string Detail, string? SubscriptionStatus)> DetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            return (root.TryGetProperty("detail", out var detail) ? detail.GetString() ?? body : body,
                root.TryGetProperty("subscriptionStatus", out var status) && status.ValueKind == JsonValueKind.String ? status.GetString() : null);
        }
        catch (JsonException)
        {
            return (body.Length > 200 ? body[..200] : body, null);
        }
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static TimeSpan Next(TimeSpan delay) => delay * 2 < MaxBackoff ? delay * 2 : MaxBackoff;

    public void Dispose()
    {
        _hubgate.Dispose();
        _local?.Dispose();
    }
}

/// <summary>One event of a stream: the envelope Hubgate sends, with GitHub's body as the exact bytes it sent.</summary>
internal sealed record StreamedDelivery(long Sequence, string DeliveryId, string Event, string? Action, long? InstallationId, string? Repository,
    DateTimeOffset ReceivedAt, IReadOnlyDictionary<string, string> Headers, byte[] Payload)
{
    /// <summary>
    /// Reads an event's data. The payload is GitHub's body exactly: <c>payload</c> is the envelope's last member, and
    /// every byte from after its name to the envelope's closing brace is the body as stored (whitespace around the JSON
    /// value included), never re-serialized.
    /// </summary>
    public static StreamedDelivery Parse(byte[] data)
    {
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (root.GetProperty("headers") is { ValueKind: JsonValueKind.Object } kept)
        {
            foreach (var header in kept.EnumerateObject())
            {
                headers[header.Name] = header.Value.ToString();
            }
        }

        string? Text(string name) => root.GetProperty(name).ValueKind == JsonValueKind.String ? root.GetProperty(name).GetString() : null;
        return new StreamedDelivery(
            root.GetProperty("sequence").GetInt64(), Text("deliveryId")!, Text("event")!, Text("action"),
            root.GetProperty("installationId").ValueKind == JsonValueKind.Number ? root.GetProperty("installationId").GetInt64() : null,
            Text("repository"), root.GetProperty("receivedAt").GetDateTimeOffset(), headers,
            Body(data));
    }

    private static byte[] Body(byte[] data)
    {
        var reader = new Utf8JsonReader(data);
        while (reader.Read())
        {
            if (reader.CurrentDepth == 1 && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("payload"u8))
            {
                // From the name's opening quote to its colon: "payload" holds none.
                var start = (int)reader.TokenStartIndex + data.AsSpan((int)reader.TokenStartIndex).IndexOf((byte)':');

                return data.AsSpan(start + 1, data.AsSpan().LastIndexOf((byte)'}') - start - 1).ToArray();
            }
        }

        throw new JsonException("The event's data has no payload.");
    }

    /// <summary>The delivery as an HTTP subscription sends it: the body and the GitHub headers it came with.</summary>
    public OutgoingDelivery Outgoing() => new(Sequence, DeliveryId, Event, Action, InstallationId, Repository,
        Headers.GetValueOrDefault("X-GitHub-Hook-ID"), Headers.GetValueOrDefault("X-GitHub-Hook-Installation-Target-ID"),
        Headers.GetValueOrDefault("X-GitHub-Hook-Installation-Target-Type"), ReceivedAt, Payload);
}
