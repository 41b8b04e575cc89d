using System.Buffers;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Hubgate.Apps;
using Hubgate.Problems;
using Hubgate.Storage;
using Hubgate.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Hubgate.Webhooks;

/// <summary>
/// The webhook endpoint of every App: checks a delivery in a fixed order (method, App known, its secret configured,
/// size, unverified bytes in flight, body, event, SHA-256 when required, signature with that App's secrets only, target
/// App, JSON or form), stores it in the inbox as that App's and answers 202 only once it is committed (or requeued, for
/// GitHub's redelivery of one that failed). Handlers never run here.
/// </summary>
internal sealed partial class WebhookReceiver(
    GitHubApps apps,
    UnverifiedBodyBudget budget,
    WebhookInbox inbox,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookReceiver> logger)
{
    public const string EventHeader = "X-GitHub-Event";
    public const string DeliveryHeader = "X-GitHub-Delivery";
    public const string TargetTypeHeader = "X-GitHub-Hook-Installation-Target-Type";
    public const string TargetIdHeader = "X-GitHub-Hook-Installation-Target-ID";

    /// <summary>The longest delivery id accepted (GitHub's are 36-character GUIDs).</summary>
    public const int MaxDeliveryIdLength = 128;

    private const int MaxEventLength = 64;
    private const int ChunkSize = 64 * 1024;

    /// <summary>Headers kept with a delivery. Never the signatures.</summary>
    private static readonly string[] KeptHeaders =
    [
        EventHeader, DeliveryHeader, "X-GitHub-Hook-ID", TargetIdHeader, TargetTypeHeader, "User-Agent", "Content-Type",
    ];

    /// <summary>Handles a delivery to the App named <c>default</c> (today's routes).</summary>
    public Task HandleAsync(HttpContext context) => HandleAsync(context, GitHubApp.DefaultName);

    /// <summary>
    /// Handles a delivery to the App named <paramref name="appName"/>: verified with that App's webhook secrets only, and
    /// stored, and deduplicated, as that App's. An App this deployment does not have (or no longer has) is answered 404.
    /// </summary>
    public async Task HandleAsync(HttpContext context, string appName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(appName);
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        var started = Stopwatch.GetTimestamp();
        using var activity = HubgateTelemetry.Source.StartActivity("webhook.ingest");

        if (!HttpMethods.IsPost(request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await ErrorAsync(context, HubgateProblems.WebhookMethodNotAllowed, "Webhook deliveries are POST requests.").ConfigureAwait(false);
            return;
        }

        // A stored App another replica added a moment ago is looked up in the database (GitHub does not retry a 404).
        var app = apps.TryGet(appName, out var known) ? known : await apps.FindAsync(appName, context.RequestAborted).ConfigureAwait(false);
        if (app is null)
        {
            Refused("unknown_app");
            Log.UnknownApp(logger, Printable(appName));
            await ErrorAsync(context, HubgateProblems.UnknownApp,
                "No GitHub App of this name is configured or stored on this server (or it was removed): its deliveries are not accepted.")
                .ConfigureAwait(false);
            return;
        }

        var keys = app.WebhookSecrets;
        if (keys.Count == 0)
        {
            Log.NoSecret(logger, app.Name, WebhookSecretKeys.Primary(app), WebhookSecretKeys.Environment(app));
            await ErrorAsync(context, HubgateProblems.WebhookSecretNotConfigured,
                $"No webhook secret is configured for the App '{app.Name}' on this server, so no delivery can be verified.").ConfigureAwait(false);
            return;
        }

        if (request.ContentLength > WebhookOptions.GitHubMaxBodyBytes)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        var settings = options.CurrentValue;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = WebhookOptions.GitHubMaxBodyBytes + 1;
        }

        BodyRead read;
        UnverifiedBody? unverified;
        try
        {
            (read, unverified) = await UnverifiedBody.ReadAsync(request.Body, request.ContentLength, budget, settings.MaxUnverifiedBytesInFlight,
                cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            (read, unverified) = (BodyRead.TooLarge, null);
        }

        if (read == BodyRead.TooLarge)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        if (unverified is null)
        {
            Refused("busy");
            Log.Busy(logger, settings.MaxUnverifiedBytesInFlight);
            context.Response.Headers.RetryAfter = "5";
            context.Response.Headers.Connection = "close"; // do not read (or drain) the rest of the body
            await ErrorAsync(context, HubgateProblems.WebhookNotStored,
                "Too many request bodies are waiting to be verified (Webhooks:MaxUnverifiedBytesInFlight); retry later.").ConfigureAwait(false);
            return;
        }

        byte[] body;
        var deliveryHeader = request.Headers[DeliveryHeader];
        string @event;
        using (unverified)
        {
            var refusal = Check(request, unverified.Length, settings, app, out @event);
            if (refusal is not null)
            {
                await ErrorAsync(context, HubgateProblems.WebhookInvalid, refusal).ConfigureAwait(false);
                return;
            }

            var sha256 = request.Headers[WebhookSignature.Sha256Header].ToString();
            var sha1 = request.Headers[WebhookSignature.Sha1Header].ToString();
            switch (WebhookSignature.Verify(unverified.Sequence, sha256, sha1, keys))
            {
                case SignatureCheck.Valid:
                    break;
                case SignatureCheck.Missing:
                    SignatureFailed("missing");
                    await ErrorAsync(context, HubgateProblems.WebhookSignatureInvalid,
                        "The delivery is not signed: send X-Hub-Signature-256 (or X-Hub-Signature).").ConfigureAwait(false);
                    return;
                case SignatureCheck.Malformed:
                    SignatureFailed("malformed");
                    await ErrorAsync(context, HubgateProblems.WebhookSignatureInvalid,
                        "The signature is malformed: expected sha256=<64 hex digits> (or sha1=<40 hex digits>).").ConfigureAwait(false);
                    return;
                case SignatureCheck.UnsupportedAlgorithm:
                    SignatureFailed("unsupported_algorithm");
                    await ErrorAsync(context, HubgateProblems.WebhookSignatureInvalid,
                        "The signature uses an unsupported algorithm: expected sha256 (or sha1).").ConfigureAwait(false);
                    return;
                default:
                    SignatureFailed("mismatch");
                    Log.SignatureMismatch(logger, Printable(deliveryHeader.ToString()), @event, context.Connection.RemoteIpAddress?.ToString());
                    await ErrorAsync(context, HubgateProblems.WebhookSignatureMismatch,
                        "The signature does not match the body for any configured webhook secret.").ConfigureAwait(false);
                    return;
            }

            body = unverified.ToArray();
        }

        // Signed with the App's secret, but addressed to another App: the secret is shared between Apps, which it must not be.
        if (OtherApp(request.Headers, app.Options.AppId) is { } target)
        {
            Refused("wrong_app");
            var appIdKey = app.Options.ConfigurationPrefix + ":AppId";
            Log.WrongApp(logger, Printable(deliveryHeader.ToString()), @event, target, app.Name, app.Options.AppId!.Value, appIdKey);
            await ErrorAsync(context, HubgateProblems.WebhookWrongApp,
                $"This delivery is for GitHub App {target} (X-GitHub-Hook-Installation-Target-ID), not this server's App " +
                $"'{app.Name}', {app.Options.AppId} ({appIdKey}). Give each App its own webhook secret.").ConfigureAwait(false);
            return;
        }

        // A form delivery (content_type: form) is stored as it was signed; its JSON is the payload field.
        var json = body;
        if (IsForm(request.ContentType) && (WebhookPayload.StartsAsJson(body) || !WebhookPayload.TryReadForm(body, out json)))
        {
            await ErrorAsync(context, HubgateProblems.WebhookInvalid,
                "The body is form-encoded (Content-Type: application/x-www-form-urlencoded) but has no single payload field.").ConfigureAwait(false);
            return;
        }

        if (!PayloadInspector.TryInspect(json, out var facts))
        {
            await ErrorAsync(context, HubgateProblems.WebhookInvalid,
                json == body ? "The body is not a JSON object." : "The form's payload field is not a JSON object.").ConfigureAwait(false);
            return;
        }

        var bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        string deliveryId;
        if (deliveryHeader.Count > 1)
        {
            await ErrorAsync(context, HubgateProblems.WebhookInvalid, "X-GitHub-Delivery was sent more than once.").ConfigureAwait(false);
            return;
        }
        else if (deliveryHeader.ToString().Trim() is { Length: > 0 } id)
        {
            if (id.Length > MaxDeliveryIdLength || !IsPrintableAscii(id))
            {
                await ErrorAsync(context, HubgateProblems.WebhookInvalid,
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
            RepositoryFullName = facts.RepositoryFullName,
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
            var tags = new TagList { { "app", app.Name }, { "event", @event }, { "result", result } };
            HubgateTelemetry.DeliveriesReceived.Add(1, tags);
            HubgateTelemetry.IngestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
            activity?.SetTag("hubgate.result", result);
        }

        InboxOutcome outcome;
        try
        {
            // One wait for both the timeout and the client going away (the inbox's own would be a second per request).
            outcome = await inbox.StoreAsync(app.Name, delivery)
                .WaitAsync(options.CurrentValue.StoreTimeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The database holds its lock (or hangs) longer than GitHub waits for an answer (10 s). If the write commits
            // later, GitHub's redelivery under the same id is answered 200.
            Log.StoreTimedOut(logger, deliveryId, @event, options.CurrentValue.StoreTimeout);
            Received("unavailable");
            await ErrorAsync(context, HubgateProblems.WebhookNotStored,
                "The database did not commit the delivery in time; it was not accepted. Redeliver it later.").ConfigureAwait(false);
            return;
        }
        catch (DeliveryStoreException)
        {
            // Logged by the inbox. 503 makes GitHub mark the delivery failed, so recovery can ask for it again.
            Received("unavailable");
            await ErrorAsync(context, HubgateProblems.WebhookNotStored,
                "The delivery could not be stored; it was not accepted. Redeliver it later.").ConfigureAwait(false);
            return;
        }
        catch (ObjectDisposedException)
        {
            Received("unavailable");
            await ErrorAsync(context, HubgateProblems.WebhookNotStored, "The server is shutting down; redeliver later.").ConfigureAwait(false);
            return;
        }

        if (outcome == InboxOutcome.Requeued)
        {
            Received("requeued");
            await AnswerAsync(context, StatusCodes.Status202Accepted, deliveryId, "requeued").ConfigureAwait(false);
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

    private static void Refused(string reason) =>
        HubgateTelemetry.DeliveriesRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>
    /// The cheap checks between reading the body and verifying it, in order: a body, one well-formed event name, one
    /// of each signature header, and SHA-256 when it is required. The reason to answer 400, or null.
    /// </summary>
    private static string? Check(HttpRequest request, long length, WebhookOptions settings, GitHubApp app, out string @event)
    {
        @event = string.Empty;
        if (length == 0)
        {
            return "The request has no body.";
        }

        var eventHeader = request.Headers[EventHeader];
        if (eventHeader.Count > 1)
        {
            return "X-GitHub-Event was sent more than once.";
        }

        @event = eventHeader.ToString().Trim();
        if (@event.Length == 0)
        {
            return "The X-GitHub-Event header is missing or empty.";
        }

        if (!IsEventName(@event))
        {
            return "X-GitHub-Event is not an event name.";
        }

        var sha256 = request.Headers[WebhookSignature.Sha256Header];
        var sha1 = request.Headers[WebhookSignature.Sha1Header];
        if (sha256.Count > 1 || sha1.Count > 1)
        {
            return "A signature header was sent more than once.";
        }

        if (string.IsNullOrEmpty(sha256.ToString()) && !string.IsNullOrEmpty(sha1.ToString()) && RequiresSha256(settings, app))
        {
            SignatureFailed("sha256_required");
            return "The delivery is signed only with SHA-1 (X-Hub-Signature); this server requires X-Hub-Signature-256 (Webhooks:RequireSha256).";
        }

        return null;
    }

    /// <summary><c>Webhooks:RequireSha256</c>, or by default whether the App's deliveries come from GitHub's cloud (not a GHES).</summary>
    private static bool RequiresSha256(WebhookOptions settings, GitHubApp app) => settings.RequireSha256 ?? app.Options.Endpoints.IsGitHubCloud;

    /// <summary>The App a delivery names when it is an App's webhook for another App than <paramref name="appId"/>; else null.</summary>
    private static long? OtherApp(IHeaderDictionary headers, long? appId) =>
        appId is { } expected
        && headers[TargetTypeHeader].ToString().Trim().Equals("integration", StringComparison.OrdinalIgnoreCase)
        && long.TryParse(headers[TargetIdHeader].ToString().Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var target)
        && target != expected
            ? target
            : null;

    private static bool IsForm(string? contentType) =>
        System.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var parsed)
        && string.Equals(parsed.MediaType, WebhookPayload.FormContentType, StringComparison.OrdinalIgnoreCase);

    private Task TooLargeAsync(HttpContext context)
    {
        Log.TooLarge(logger, context.Request.ContentLength);
        context.Response.Headers.Connection = "close"; // do not read (or drain) the rest of the body
        return ErrorAsync(context, HubgateProblems.WebhookTooLarge, "The body is larger than GitHub's 25 MiB webhook limit.");
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

    private static Task ErrorAsync(HttpContext context, ProblemKind kind, string detail) => HubgateProblems.WriteFastAsync(context, kind, detail);

    private static partial class Log
    {
        [LoggerMessage(EventId = 310, Level = LogLevel.Error,
            Message = "A webhook delivery for App {App} arrived but no webhook secret is configured for it: set {Key} (environment: {EnvironmentVariable}) to the App's webhook secret. Answered 401.")]
        public static partial void NoSecret(ILogger logger, string app, string key, string environmentVariable);

        [LoggerMessage(EventId = 319, Level = LogLevel.Warning,
            Message = "A webhook delivery arrived for App {App}, which is not configured or stored here (or was removed): answered 404, nothing stored. Check the webhook URL GitHub delivers to.")]
        public static partial void UnknownApp(ILogger logger, string? app);

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

        [LoggerMessage(EventId = 317, Level = LogLevel.Warning,
            Message = "A webhook request was refused with 503: request bodies not yet verified already hold Webhooks:MaxUnverifiedBytesInFlight ({Limit} bytes)")]
        public static partial void Busy(ILogger logger, long limit);

        [LoggerMessage(EventId = 318, Level = LogLevel.Error,
            Message = "Delivery {DeliveryId} ({Event}) is signed with App {App}'s webhook secret but is for GitHub App {TargetAppId}, not {AppId} ({AppIdKey}): answered 403. Each App needs its own webhook secret.")]
        public static partial void WrongApp(ILogger logger, string? deliveryId, string @event, long targetAppId, string app, long appId, string appIdKey);
    }
}
