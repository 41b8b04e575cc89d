using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Hubgate.Webhooks;

/// <summary>
/// The webhook endpoint: checks a delivery in a fixed order (method, secret configured, size, body, event, signature,
/// JSON), stores it in the inbox and answers 202 only once it is committed. Handlers never run here.
/// </summary>
public sealed partial class WebhookReceiver(
    WebhookSecrets secrets,
    WebhookInbox inbox,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookReceiver> logger)
{
    public const string EventHeader = "X-GitHub-Event";
    public const string DeliveryHeader = "X-GitHub-Delivery";

    /// <summary>The longest delivery id accepted (GitHub's are 36-character GUIDs).</summary>
    public const int MaxDeliveryIdLength = 128;

    private const int MaxEventLength = 64;
    private const int ChunkSize = 64 * 1024;

    /// <summary>Headers kept with a delivery. Never the signatures.</summary>
    private static readonly string[] KeptHeaders =
    [
        EventHeader, DeliveryHeader, "X-GitHub-Hook-ID", "X-GitHub-Hook-Installation-Target-ID",
        "X-GitHub-Hook-Installation-Target-Type", "User-Agent", "Content-Type",
    ];

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var started = Stopwatch.GetTimestamp();
        using var activity = HubgateTelemetry.Source.StartActivity("webhook.ingest");

        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await ErrorAsync(context, StatusCodes.Status405MethodNotAllowed, "Webhook deliveries are POST requests.").ConfigureAwait(false);
            return;
        }

        var keys = secrets.Current;
        if (keys.Count == 0)
        {
            Log.NoSecret(logger);
            await ErrorAsync(context, StatusCodes.Status401Unauthorized,
                "No webhook secret is configured on this server, so no delivery can be verified.").ConfigureAwait(false);
            return;
        }

        if (request.ContentLength > WebhookOptions.GitHubMaxBodyBytes)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        byte[]? body;
        try
        {
            body = await ReadBodyAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body = null;
        }

        if (body is null)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        if (body.Length == 0)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The request has no body.").ConfigureAwait(false);
            return;
        }

        var eventHeader = request.Headers[EventHeader];
        if (eventHeader.Count > 1)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "X-GitHub-Event was sent more than once.").ConfigureAwait(false);
            return;
        }

        var @event = eventHeader.ToString().Trim();
        if (@event.Length == 0)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The X-GitHub-Event header is missing or empty.").ConfigureAwait(false);
            return;
        }

        if (!IsEventName(@event))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "X-GitHub-Event is not an event name.").ConfigureAwait(false);
            return;
        }

        var sha256 = request.Headers[WebhookSignature.Sha256Header];
        var sha1 = request.Headers[WebhookSignature.Sha1Header];
        if (sha256.Count > 1 || sha1.Count > 1)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "A signature header was sent more than once.").ConfigureAwait(false);
            return;
        }

        var deliveryHeader = request.Headers[DeliveryHeader];
        switch (WebhookSignature.Verify(body, sha256.ToString(), sha1.ToString(), keys))
        {
            case SignatureCheck.Valid:
                break;
            case SignatureCheck.Missing:
                SignatureFailed("missing");
                await ErrorAsync(context, StatusCodes.Status400BadRequest,
                    "The delivery is not signed: send X-Hub-Signature-256 (or X-Hub-Signature).").ConfigureAwait(false);
                return;
            case SignatureCheck.Malformed:
                SignatureFailed("malformed");
                await ErrorAsync(context, StatusCodes.Status400BadRequest,
                    "The signature is malformed: expected sha256=<64 hex digits> (or sha1=<40 hex digits>).").ConfigureAwait(false);
                return;
            case SignatureCheck.UnsupportedAlgorithm:
                SignatureFailed("unsupported_algorithm");
                await ErrorAsync(context, StatusCodes.Status400BadRequest,
                    "The signature uses an unsupported algorithm: expected sha256 (or sha1).").ConfigureAwait(false);
                return;
            default:
                SignatureFailed("mismatch");
                Log.SignatureMismatch(logger, Printable(deliveryHeader.ToString()), @event, context.Connection.RemoteIpAddress?.ToString());
                await ErrorAsync(context, StatusCodes.Status401Unauthorized,
                    "The signature does not match the body for any configured webhook secret.").ConfigureAwait(false);
                return;
        }

        if (!PayloadInspector.TryInspect(body, out var facts))
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "The body is not a JSON object.").ConfigureAwait(false);
            return;
        }

        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        string deliveryId;
        if (deliveryHeader.Count > 1)
        {
            await ErrorAsync(context, StatusCodes.Status400BadRequest, "X-GitHub-Delivery was sent more than once.").ConfigureAwait(false);
            return;
        }
        else if (deliveryHeader.ToString().Trim() is { Length: > 0 } id)
        {
            if (id.Length > MaxDeliveryIdLength || !IsPrintableAscii(id))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest,
                    $"X-GitHub-Delivery must be at most {MaxDeliveryIdLength} printable ASCII characters.").ConfigureAwait(false);
                return;
            }

            deliveryId = id;
        }
        else
        {
            deliveryId = bodyHash;
        }

        var delivery = new WebhookDeliveryEntity
        {
            DeliveryId = deliveryId,
            Event = @event,
            Action = facts.Action,
            InstallationId = facts.InstallationId,
            RepositoryId = facts.RepositoryId,
            HookId = facts.HookId ?? HookIdHeader(request.Headers),
            ReceivedAt = time.GetUtcNow(),
            Body = body,
            BodySha256 = bodyHash,
            HeadersJson = KeptHeadersJson(request.Headers),
        };

        activity?.SetTag("github.event", @event);
        activity?.SetTag("github.delivery", deliveryId);
        void Received(string result)
        {
            var tags = new TagList { { "event", @event }, { "result", result } };
            HubgateTelemetry.DeliveriesReceived.Add(1, tags);
            HubgateTelemetry.IngestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            activity?.SetTag("hubgate.result", result);
        }

        InboxOutcome outcome;
        try
        {
            // One wait for both the timeout and the client going away (the inbox's own would be a second per request).
            outcome = await inbox.StoreAsync(delivery)
                .WaitAsync(options.CurrentValue.StoreTimeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The database holds its lock (or hangs) longer than GitHub waits for an answer (10 s). If the write commits
            // later, GitHub's redelivery under the same id is answered 200.
            Log.StoreTimedOut(logger, deliveryId, @event, options.CurrentValue.StoreTimeout);
            Received("unavailable");
            await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                "The database did not commit the delivery in time; it was not accepted. Redeliver it later.").ConfigureAwait(false);
            return;
        }
        catch (DeliveryStoreException)
        {
            // Logged by the inbox. 503 makes GitHub mark the delivery failed, so recovery can ask for it again.
            Received("unavailable");
            await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                "The delivery could not be stored; it was not accepted. Redeliver it later.").ConfigureAwait(false);
            return;
        }
        catch (ObjectDisposedException)
        {
            Received("unavailable");
            await ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "The server is shutting down; redeliver later.").ConfigureAwait(false);
            return;
        }

        if (outcome == InboxOutcome.Duplicate)
        {
            Log.Duplicate(logger, deliveryId, @event);
            Received("duplicate");
            await AnswerAsync(context, StatusCodes.Status200OK, deliveryId, "duplicate").ConfigureAwait(false);
            return;
        }

        Log.Stored(logger, deliveryId, @event, facts.Action, body.Length);
        Received("stored");
        await AnswerAsync(context, StatusCodes.Status202Accepted, deliveryId, "queued").ConfigureAwait(false);
    }

    private static void SignatureFailed(string reason) =>
        HubgateTelemetry.SignatureFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>
    /// Reads the body into one exactly sized array, refusing anything over 25 MiB while reading: a known length is
    /// checked up front, an unknown one (chunked) is read in pooled 64 KiB chunks and abandoned at the first byte over
    /// the cap. Returns null when the body is too large.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context, CancellationToken cancellationToken)
    {
        const long limit = WebhookOptions.GitHubMaxBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit + 1;
        }

        var stream = context.Request.Body;
        if (context.Request.ContentLength is { } length)
        {
            var exact = new byte[length];
            await stream.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }

        var chunks = new List<byte[]>();
        var total = 0L;
        try
        {
            while (true)
            {
                var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
                chunks.Add(chunk);
                var filled = 0;
                while (filled < ChunkSize)
                {
                    var read = await stream.ReadAsync(chunk.AsMemory(filled, ChunkSize - filled), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    filled += read;
                    total += read;
                    if (total > limit)
                    {
                        return null;
                    }
                }

                if (filled < ChunkSize)
                {
                    break;
                }
            }

            var body = new byte[total];
            var offset = 0;
            foreach (var chunk in chunks)
            {
                var count = (int)Math.Min(ChunkSize, total - offset);
                chunk.AsSpan(0, count).CopyTo(body.AsSpan(offset));
                offset += count;
            }

            return body;
        }
        finally
        {
            foreach (var chunk in chunks)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
    }

    private Task TooLargeAsync(HttpContext context)
    {
        Log.TooLarge(logger, context.Request.ContentLength);
        context.Response.Headers.Connection = "close"; // do not read (or drain) the rest of the body
        return ErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "The body is larger than GitHub's 25 MiB webhook limit.");
    }

    private static bool IsEventName(string value)
    {
        if (value.Length > MaxEventLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPrintableAscii(string value)
    {
        foreach (var c in value)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A header value safe to put in a log line (printable, bounded).</summary>
    private static string? Printable(string value) =>
        value.Length == 0 ? null : value.Length <= MaxDeliveryIdLength && IsPrintableAscii(value) ? value : "(unprintable)";

    private static long? HookIdHeader(IHeaderDictionary headers) =>
        long.TryParse(headers["X-GitHub-Hook-ID"].ToString(), System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : null;

    private static string KeptHeadersJson(IHeaderDictionary headers)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var name in KeptHeaders)
            {
                if (headers.TryGetValue(name, out StringValues value) && value.Count > 0)
                {
                    writer.WriteString(name, value.ToString());
                }
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static Task AnswerAsync(HttpContext context, int status, string deliveryId, string state)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var buffer = new ArrayBufferWriter<byte>(96 + deliveryId.Length);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("delivery", deliveryId);
            writer.WriteString("status", state);
            writer.WriteEndObject();
        }

        context.Response.ContentLength = buffer.WrittenCount;
        return context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).AsTask();
    }

    private static Task ErrorAsync(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new ErrorBody(error), WebhookJsonContext.Default.ErrorBody);
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }

    internal sealed record ErrorBody(string Error);

    private static partial class Log
    {
        [LoggerMessage(EventId = 310, Level = LogLevel.Error,
            Message = "A webhook delivery arrived but no webhook secret is configured: set GitHub:WebhookSecret (environment: GitHub__WebhookSecret) to the App's webhook secret. Answered 401.")]
        public static partial void NoSecret(ILogger logger);

        [LoggerMessage(EventId = 311, Level = LogLevel.Warning,
            Message = "Webhook signature mismatch for delivery {DeliveryId} ({Event}) from {RemoteAddress}: no configured secret matches. Answered 401.")]
        public static partial void SignatureMismatch(ILogger logger, string? deliveryId, string @event, string? remoteAddress);

        [LoggerMessage(EventId = 316, Level = LogLevel.Warning,
            Message = "Delivery {DeliveryId} ({Event}) was not committed within {Timeout}: answered 503 (database locked or slow)")]
        public static partial void StoreTimedOut(ILogger logger, string deliveryId, string @event, TimeSpan timeout);

        [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "Webhook body too large (Content-Length {ContentLength}): answered 413.")]
        public static partial void TooLarge(ILogger logger, long? contentLength);

        [LoggerMessage(EventId = 313, Level = LogLevel.Debug, Message = "Delivery {DeliveryId} ({Event}.{Action}, {Bytes} bytes) stored")]
        public static partial void Stored(ILogger logger, string deliveryId, string @event, string? action, int bytes);

        [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "Delivery {DeliveryId} ({Event}) is already stored: answered 200, nothing done")]
        public static partial void Duplicate(ILogger logger, string deliveryId, string @event);
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(WebhookReceiver.ErrorBody))]
internal sealed partial class WebhookJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
