using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Hubgate.Problems;

/// <summary>
/// Every error Hubgate itself answers, as an RFC 9457 <c>application/problem+json</c> document built here:
/// <c>type</c> (one stable URI per <see cref="ProblemKind"/>), <c>title</c>, <c>status</c>, <c>detail</c> (what was wrong
/// and what to do; never a secret), and — for clients written against the earlier <c>{"error": …}</c> bodies — an
/// <c>error</c> member holding the detail, kept for one release. Answers GitHub itself gives through the proxy are passed
/// through unchanged.
/// </summary>
public static class HubgateProblems
{
    /// <summary>The base of every <c>type</c> URI; docs/api.md lists the kinds.</summary>
    public const string BaseUri = "https://hubgate.dev/problems/";

    /// <summary>The media type of every error Hubgate answers.</summary>
    public const string ContentType = "application/problem+json";

    /// <summary>The extension member that repeats the detail for clients of the earlier bodies (to be removed in a later release).</summary>
    public const string LegacyErrorMember = "error";

    // The management API.

    /// <summary>400: a query or body value the API does not accept.</summary>
    public static readonly ProblemKind InvalidRequest = new("invalid-request", StatusCodes.Status400BadRequest, "Invalid request");

    /// <summary>404: no such installation, repository, delivery, client or manifest flow.</summary>
    public static readonly ProblemKind NotFound = new("not-found", StatusCodes.Status404NotFound, "Not found");

    /// <summary>409: the change conflicts with what is stored (a name taken, a delivery being processed).</summary>
    public static readonly ProblemKind Conflict = new("conflict", StatusCodes.Status409Conflict, "Conflict");

    // Keys and policies (management API, proxy, token vending).

    /// <summary>503: no client key is configured or stored, so nothing can be authenticated.</summary>
    public static readonly ProblemKind ClientsNotConfigured = new("clients-not-configured", StatusCodes.Status503ServiceUnavailable, "No client keys configured");

    /// <summary>401: the bearer key is missing or matches no client.</summary>
    public static readonly ProblemKind InvalidKey = new("invalid-key", StatusCodes.Status401Unauthorized, "Missing or wrong API key");

    /// <summary>403: the client's policy does not allow the request; extension <c>rule</c> names the rule.</summary>
    public static readonly ProblemKind AccessRefused = new("access-refused", StatusCodes.Status403Forbidden, "Refused by the client's policy");

    /// <summary>429: too many failed key checks from the address; extension <c>retryAfter</c> (seconds), header Retry-After.</summary>
    public static readonly ProblemKind TooManyFailedKeys = new("too-many-failed-keys", StatusCodes.Status429TooManyRequests, "Too many failed key checks");

    // GitHub Apps and the proxy.

    /// <summary>404: no GitHub App of this name is configured or stored.</summary>
    public static readonly ProblemKind UnknownApp = new("unknown-app", StatusCodes.Status404NotFound, "Unknown GitHub App");

    /// <summary>503: the App lacks the credentials (App id, private key) the request needs.</summary>
    public static readonly ProblemKind AppNotConfigured = new("app-not-configured", StatusCodes.Status503ServiceUnavailable, "GitHub App not configured");

    /// <summary>400: a proxy path Hubgate will not forward (escapes the API base, wrong route for its credential).</summary>
    public static readonly ProblemKind RefusedProxyPath = new("refused-proxy-path", StatusCodes.Status400BadRequest, "Refused proxy path");

    /// <summary>404: GitHub does not know the installation (or the App is not installed there).</summary>
    public static readonly ProblemKind InstallationNotFound = new("installation-not-found", StatusCodes.Status404NotFound, "Installation not found");

    /// <summary>403: the installation is suspended, so GitHub mints no token for it.</summary>
    public static readonly ProblemKind InstallationSuspended = new("installation-suspended", StatusCodes.Status403Forbidden, "Installation suspended");

    /// <summary>422: GitHub would not mint a token for the repositories or permissions asked.</summary>
    public static readonly ProblemKind TokenScopeRefused = new("token-scope-refused", StatusCodes.Status422UnprocessableEntity, "Token scope refused by GitHub");

    /// <summary>429: GitHub's rate limit holds the App's credential; extension <c>retryAfter</c> (seconds) when known.</summary>
    public static readonly ProblemKind GitHubRateLimited = new("github-rate-limited", StatusCodes.Status429TooManyRequests, "GitHub rate limit");

    /// <summary>502: GitHub answered an error Hubgate needed to go on (minting a token, listing), or could not be reached.</summary>
    public static readonly ProblemKind GitHubFailed = new("github-failed", StatusCodes.Status502BadGateway, "GitHub failed");

    // The webhook receiver.

    /// <summary>405: webhook deliveries are POST requests.</summary>
    public static readonly ProblemKind WebhookMethodNotAllowed = new("webhook-method-not-allowed", StatusCodes.Status405MethodNotAllowed, "Webhook deliveries are POST");

    /// <summary>401: the App has no webhook secret configured, so no delivery can be verified.</summary>
    public static readonly ProblemKind WebhookSecretNotConfigured = new("webhook-secret-not-configured", StatusCodes.Status401Unauthorized, "No webhook secret configured");

    /// <summary>400: the delivery is not signed, or the signature is malformed or of an unsupported algorithm.</summary>
    public static readonly ProblemKind WebhookSignatureInvalid = new("webhook-signature-invalid", StatusCodes.Status400BadRequest, "Missing or malformed webhook signature");

    /// <summary>401: the signature matches no configured webhook secret.</summary>
    public static readonly ProblemKind WebhookSignatureMismatch = new("webhook-signature-mismatch", StatusCodes.Status401Unauthorized, "Webhook signature mismatch");

    /// <summary>403: the delivery is signed with this App's secret but is for another GitHub App.</summary>
    public static readonly ProblemKind WebhookWrongApp = new("webhook-wrong-app", StatusCodes.Status403Forbidden, "Delivery for another GitHub App");

    /// <summary>400: headers or body are not a well-formed GitHub delivery.</summary>
    public static readonly ProblemKind WebhookInvalid = new("webhook-invalid", StatusCodes.Status400BadRequest, "Invalid webhook delivery");

    /// <summary>413: the body is larger than GitHub's 25 MiB webhook limit.</summary>
    public static readonly ProblemKind WebhookTooLarge = new("webhook-too-large", StatusCodes.Status413PayloadTooLarge, "Webhook body too large");

    /// <summary>503: the delivery was not stored (busy, database slow or failing, shutting down); it was not accepted.</summary>
    public static readonly ProblemKind WebhookNotStored = new("webhook-not-stored", StatusCodes.Status503ServiceUnavailable, "Delivery not stored");

    private static readonly JsonEncodedText TypeMember = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText TitleMember = JsonEncodedText.Encode("title");
    private static readonly JsonEncodedText StatusMember = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText DetailMember = JsonEncodedText.Encode("detail");
    private static readonly JsonEncodedText ErrorMember = JsonEncodedText.Encode(LegacyErrorMember);
    private static readonly JsonEncodedText TraceIdMember = JsonEncodedText.Encode("traceId");

    /// <summary>Every kind, in the order docs/api.md lists them.</summary>
    public static IReadOnlyList<ProblemKind> All { get; } =
    [
        InvalidRequest, NotFound, Conflict, ClientsNotConfigured, InvalidKey, AccessRefused, TooManyFailedKeys, UnknownApp, AppNotConfigured,
        RefusedProxyPath, InstallationNotFound, InstallationSuspended, TokenScopeRefused, GitHubRateLimited, GitHubFailed, WebhookMethodNotAllowed,
        WebhookSecretNotConfigured, WebhookSignatureInvalid, WebhookSignatureMismatch, WebhookWrongApp, WebhookInvalid, WebhookTooLarge, WebhookNotStored,
    ];

    /// <summary>The problem document of <paramref name="kind"/> with <paramref name="detail"/> (and the legacy <c>error</c> member).</summary>
    public static ProblemDetails Create(ProblemKind kind, string detail)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(detail);
        var problem = new ProblemDetails { Type = kind.Type, Title = kind.Title, Status = kind.Status, Detail = detail };
        problem.Extensions[LegacyErrorMember] = detail;
        return problem;
    }

    /// <summary>
    /// The answer for <paramref name="kind"/>: <see cref="TypedResults.Problem(ProblemDetails)"/>, written by the host's
    /// <c>IProblemDetailsService</c> when one is registered.
    /// </summary>
    /// <param name="kind">The kind of error.</param>
    /// <param name="detail">What was wrong and what to do; never a secret.</param>
    /// <param name="extensions">Members beyond RFC 9457's (e.g. <c>rule</c>, <c>retryAfter</c>).</param>
    public static ProblemHttpResult Result(ProblemKind kind, string detail, params ReadOnlySpan<KeyValuePair<string, object?>> extensions)
    {
        var problem = Create(kind, detail);
        foreach (var (name, value) in extensions)
        {
            problem.Extensions[name] = value;
        }

        return TypedResults.Problem(problem);
    }

    /// <summary>Writes <see cref="Result"/> to <paramref name="context"/> (for code that writes the response itself).</summary>
    public static Task WriteAsync(HttpContext context, ProblemKind kind, string detail, params ReadOnlySpan<KeyValuePair<string, object?>> extensions) =>
        Result(kind, detail, extensions).ExecuteAsync(context);

    /// <summary>
    /// The webhook receiver's errors, written without the serializer: the type and title are escaped once per kind, the
    /// detail once per answer. The members are those of <see cref="Create"/> plus <c>traceId</c>, as the host's writer adds.
    /// </summary>
    internal static Task WriteFastAsync(HttpContext context, ProblemKind kind, string detail)
    {
        var buffer = new ArrayBufferWriter<byte>(kind.EncodedType.EncodedUtf8Bytes.Length + kind.EncodedTitle.EncodedUtf8Bytes.Length + (detail.Length * 2) + 80);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(TypeMember, kind.EncodedType);
            writer.WriteString(TitleMember, kind.EncodedTitle);
            writer.WriteNumber(StatusMember, kind.Status);
            writer.WriteString(DetailMember, detail);
            writer.WriteString(ErrorMember, detail);
            writer.WriteString(TraceIdMember, System.Diagnostics.Activity.Current?.Id ?? context.TraceIdentifier); // as ASP.NET Core's writer does
            writer.WriteEndObject();
        }

        context.Response.StatusCode = kind.Status;
        context.Response.ContentType = ContentType;
        context.Response.ContentLength = buffer.WrittenCount;
        return context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).AsTask();
    }
}
