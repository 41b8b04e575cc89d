using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.AspNetCore.Http.Features;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// One listener's Server-Sent Events stream of a <c>Stream</c> subscription: its deliveries in sequence order, each as
/// <c>id: {sequence}</c>, <c>event: {GitHub event}</c> and <c>data: {envelope}</c>, whose <c>payload</c> is the body GitHub
/// sent, byte for byte (never parsed and written again). Reads the subscription's rows in batches
/// (<see cref="DeliveryStore.ReadStreamAsync"/>); when it has sent everything, waits for the fan-out's wake
/// (<see cref="WorkSignal"/>; another replica's fan-out is seen at the next poll) and sends a comment every
/// <see cref="KeepAlive"/> so that proxies keep the connection. Ends when the listener goes, the server stops, or the
/// subscription is paused, disabled or removed.
/// </summary>
internal sealed partial class DeliveryStream(string subscription, long? after) : IResult
{
    /// <summary>Deliveries read from the store at a time.</summary>
    public const int BatchSize = 256;

    /// <summary>How often a comment is sent when there is nothing to send.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>How often the store is read when no wake came (deliveries fanned out by another replica).</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] LineBreakInData = "\ndata: "u8.ToArray();

    public async Task ExecuteAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var store = services.GetRequiredService<DeliveryStore>();
        var catalog = services.GetRequiredService<SubscriptionCatalog>();
        var signal = services.GetRequiredService<WorkSignal>();
        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILogger<DeliveryStream>>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted,
            services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        var cancellationToken = stop.Token;

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass each event on as it comes
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        // Without a cursor of its own, the listener gets what is not yet acknowledged: the stored cursor.
        var owedOnly = after is null;
        var sent = 0L;
        try
        {
            var cursor = after ?? await store.StreamStartAsync(subscription, cancellationToken);
            Log.Opened(logger, subscription, after is null ? "the oldest not acknowledged" : "after " + cursor.ToString(CultureInfo.InvariantCulture));
            // A comment first, so the listener has the response (and knows it is connected) before any delivery comes.
            await response.BodyWriter.WriteAsync(Encoding.UTF8.GetBytes($": subscription {subscription}\n\n"), cancellationToken);
            var lastWrite = time.GetTimestamp();
            var envelope = new ArrayBufferWriter<byte>(4096);
            while (!cancellationToken.IsCancellationRequested)
            {
                var wake = signal.Current;
                var batch = await store.ReadStreamAsync(subscription, cursor, owedOnly, BatchSize, cancellationToken);
                foreach (var delivery in batch)
                {
                    WriteEvent(response.BodyWriter, delivery, envelope);
                    cursor = delivery.Id;
                }

                if (batch.Count > 0)
                {
                    await response.BodyWriter.FlushAsync(cancellationToken);
                    sent += batch.Count;
                    lastWrite = time.GetTimestamp();
                    if (batch.Count == BatchSize)
                    {
                        continue;
                    }
                }

                if (await catalog.FindAsync(subscription, cancellationToken) is not { IsActive: true, Kind: SubscriptionKind.Stream })
                {
                    Log.NoLongerActive(logger, subscription);
                    break;
                }

                var quiet = time.GetElapsedTime(lastWrite);
                if (quiet >= KeepAlive)
                {
                    await response.BodyWriter.WriteAsync(": keep-alive\n\n"u8.ToArray(), cancellationToken);
                    lastWrite = time.GetTimestamp();
                    quiet = TimeSpan.Zero;
                }

                await WorkSignal.WaitAsync(wake, PollInterval < KeepAlive - quiet ? PollInterval : KeepAlive - quiet, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the listener went, or the server is stopping
        }

        Log.Closed(logger, subscription, sent);
    }

    /// <summary>
    /// Writes one delivery's event. The envelope is one line of JSON unless GitHub's body itself holds line breaks (JSON
    /// allows them between values): then it goes on several <c>data:</c> lines, which a listener joins with <c>\n</c>, as
    /// Server-Sent Events define.
    /// </summary>
    internal static void WriteEvent(IBufferWriter<byte> output, WebhookDeliveryEntity delivery, ArrayBufferWriter<byte> envelope)
    {
        envelope.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(envelope))
        {
            json.WriteStartObject();
            json.WriteNumber("sequence", delivery.Id);
            json.WriteString("deliveryId", delivery.DeliveryId);
            json.WriteString("event", delivery.Event);
            json.WriteString("action", delivery.Action);
            if (delivery.InstallationId is { } installation)
            {
                json.WriteNumber("installationId", installation);
            }
            else
            {
                json.WriteNull("installationId");
            }

            json.WriteString("repository", delivery.RepositoryFullName);
            json.WriteString("receivedAt", delivery.ReceivedAt);
            json.WritePropertyName("headers");
            if (delivery.HeadersJson is { } headers)
            {
                json.WriteRawValue(headers, skipInputValidation: true);
            }
            else
            {
                json.WriteNullValue();
            }

            // Ingest checked the body is well-formed JSON (the payload field of a form delivery): written as it came, and
            // last, so that a listener takes every byte after "payload": up to the closing brace as the body, exactly
            // (whitespace around the value included, which a JSON parser would drop).
            json.WritePropertyName("payload");
            json.WriteRawValue(WebhookPayload.Json(delivery.Body).Span, skipInputValidation: true);
            json.WriteEndObject();
        }

        Write(output, "id: " + delivery.Id.ToString(CultureInfo.InvariantCulture) + "\nevent: " + OneLine(delivery.Event) + "\n");
        output.Write(DataPrefix);
        var rest = envelope.WrittenSpan;
        while (rest.IndexOfAny((byte)'\r', (byte)'\n') is var at and >= 0)
        {
            output.Write(rest[..at]);
            output.Write(LineBreakInData);
            rest = rest[(rest[at] == '\r' && at + 1 < rest.Length && rest[at + 1] == '\n' ? at + 2 : at + 1)..];
        }

        output.Write(rest);
        output.Write("\n\n"u8);
    }

    private static string OneLine(string value) => value.ReplaceLineEndings("_");

    private static void Write(IBufferWriter<byte> output, string text) => output.Write(Encoding.UTF8.GetBytes(text));

    private static partial class Log
    {
        [LoggerMessage(EventId = 540, Level = LogLevel.Information, Message = "A listener opened the stream of subscription {Subscription}, from {From}")]
        public static partial void Opened(ILogger logger, string subscription, string from);

        [LoggerMessage(EventId = 541, Level = LogLevel.Information, Message = "The stream of subscription {Subscription} closed after {Sent} deliveries")]
        public static partial void Closed(ILogger logger, string subscription, long sent);

        [LoggerMessage(EventId = 542, Level = LogLevel.Information, Message = "Subscription {Subscription} is no longer an active stream; closing its listeners' streams")]
        public static partial void NoLongerActive(ILogger logger, string subscription);
    }
}
