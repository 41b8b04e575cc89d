using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>
/// Keeps requests from reaching GitHub while it has said to stop. Sits outside the authorizing handler and the
/// per-attempt timeout, so waiting for a reset (and the token mint a request triggers) is never cut short by
/// <c>GitHub:RequestTimeout</c>. Before sending it checks what GitHub last said for the request's credential and
/// resource; after, it recognizes a primary limit (<c>X-RateLimit-Remaining: 0</c>, or GraphQL's 200 with
/// <c>RATE_LIMITED</c>) and a secondary one (403/429 saying "secondary rate limit", or with <c>Retry-After</c>),
/// waits within <c>GitHub:MaxRateLimitWait</c> and sends again, or throws <see cref="GitHubRateLimitException"/>.
/// </summary>
/// <remarks>
/// Secondary limits follow GitHub's guidance (and octokit's plugin-throttling): wait <c>Retry-After</c> when given,
/// else at least 60 s; when limits keep coming without an answer in between, wait 60 s × 2ⁿ⁻¹ (up to 32 min).
/// </remarks>
internal sealed partial class GitHubRateLimitGate(
    Apps.GitHubApps apps,
    GitHubAppAuthenticationSettings settings,
    ILogger<GitHubRateLimitGate> logger) : DelegatingHandler
{
    private const string GraphQL = "graphql";
    private static readonly TimeSpan SecondaryMinimum = TimeSpan.FromSeconds(60);
    private const int MaxDoublings = 5;
    private const long LargestErrorBody = 64 * 1024;

    private readonly Apps.GitHubApps _apps = apps;
    private readonly GitHubAppAuthenticationSettings _settings = settings;
    private readonly ILogger _logger = logger;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TryGetBucket(request, out var bucket))
        {
            return base.SendAsync(request, cancellationToken); // the authorizing handler refuses it or names what is missing
        }

        // The hot path (nothing known against the bucket, an answer that is no limit) stays free of async state machines.
        if (bucket.IsGraphQL || bucket.App.RateLimits.EmptyUntil(bucket.InstallationId, bucket.Resource, bucket.App.Clock.TimeProvider.GetUtcNow()) is not null)
        {
            return SendGatedAsync(request, bucket, sent: null, cancellationToken);
        }

        var sent = base.SendAsync(request, cancellationToken);
        if (sent.IsCompletedSuccessfully && sent.Result.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests))
        {
            Settle(bucket, sent.Result);
            return sent;
        }

        return SendGatedAsync(request, bucket, sent, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendGatedAsync(HttpRequestMessage request, Bucket bucket, Task<HttpResponseMessage>? sent, CancellationToken cancellationToken)
    {
        var time = bucket.App.Clock.TimeProvider;
        var waited = TimeSpan.Zero;
        while (true)
        {
            if (sent is null)
            {
                var now = time.GetUtcNow();
                if (bucket.App.RateLimits.EmptyUntil(bucket.InstallationId, bucket.Resource, now) is { } until)
                {
                    var secondary = bucket.App.RateLimits.SecondaryLimitUntil(bucket.InstallationId) is { } s && s > now;
                    var wait = until - now;
                    if (!CanWait(bucket, waited, wait))
                    {
                        Count(bucket.Resource, secondary, "refused");
                        throw Exhausted(bucket, secondary, until, now, status: null, gitHubMessage: null);
                    }

                    await WaitAsync(bucket, bucket.Resource, secondary, wait, cancellationToken).ConfigureAwait(false);
                    waited += wait;
                    continue;
                }

                sent = base.SendAsync(request, cancellationToken);
            }

            var response = await sent.ConfigureAwait(false);
            sent = null;
            var hit = await ClassifyAsync(bucket, response, cancellationToken).ConfigureAwait(false);
            if (hit is null)
            {
                return response;
            }

            var at = time.GetUtcNow();
            var left = Max(hit.Until - at, GitHubRateLimits.ResetMargin); // never straight back, whatever GitHub said
            if (_logger.IsEnabled(LogLevel.Warning))
            {
                var who = Who(bucket);
                var kind = Kind(hit.Secondary);
                Log.RateLimited(_logger, who, hit.Resource, kind, (int)response.StatusCode, left.TotalSeconds);
            }

            if (CanWait(bucket, waited, left) && GitHubAppAuthenticationHandler.CanResend(request))
            {
                response.Dispose();
                await WaitAsync(bucket, hit.Resource, hit.Secondary, left, cancellationToken).ConfigureAwait(false);
                waited += left;
                continue; // and look again before sending: another request may have learned of a later limit meanwhile
            }

            Count(hit.Resource, hit.Secondary, _settings.ThrowOnRateLimit ? "failed" : "passed");
            if (!_settings.ThrowOnRateLimit)
            {
                return response; // the proxy: the caller gets GitHub's own answer
            }

            var status = response.StatusCode;
            response.Dispose();
            throw Exhausted(bucket with { Resource = hit.Resource }, hit.Secondary, hit.Until, at, status, hit.Message);
        }
    }

    private async Task WaitAsync(Bucket bucket, string resource, bool secondary, TimeSpan wait, CancellationToken cancellationToken)
    {
        // The delay is scheduled before the log line, so whoever reads the line finds the timer set.
        var delay = Task.Delay(wait, bucket.App.Clock.TimeProvider, cancellationToken);
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var who = Who(bucket);
            var kind = Kind(secondary);
            Log.Waiting(_logger, who, resource, kind, wait.TotalSeconds);
        }

        Count(resource, secondary, "waited");
        await delay.ConfigureAwait(false);
    }

    /// <summary>Records the answer's rate-limit state; a rate-limit answer also yields when to try again.</summary>
    private static async Task<RateLimitHit?> ClassifyAsync(Bucket bucket, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var now = bucket.App.Clock.TimeProvider.GetUtcNow();
        var headers = response.Headers;
        var snapshot = bucket.App.RateLimits.Record(bucket.InstallationId, bucket.Resource, headers, now, bucket.App.Clock.Offset);
        var resource = snapshot?.Resource ?? bucket.Resource;
        if (response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests)
        {
            var offset = GitHubRateLimits.GitHubOffset(headers, now, bucket.App.Clock.Offset);
            var retryAfter = headers.RetryAfter is { } ra ? ra.Delta ?? (ra.Date is { } d ? d - (now + offset) : null) : null;
            var message = await MessageAsync(response, cancellationToken).ConfigureAwait(false);
            var exhausted = snapshot is { Remaining: <= 0 };
            if (message.Contains("secondary rate", StringComparison.OrdinalIgnoreCase) || retryAfter is not null ||
                (response.StatusCode == HttpStatusCode.TooManyRequests && !exhausted))
            {
                var inARow = bucket.App.RateLimits.SecondaryInARow(bucket.InstallationId) + 1;
                var backOff = SecondaryMinimum * (1 << Math.Min(inARow - 1, MaxDoublings));
                var wait = inARow == 1 ? retryAfter ?? SecondaryMinimum : Max(retryAfter ?? TimeSpan.Zero, backOff);
                var until = now + Max(wait, TimeSpan.Zero);
                bucket.App.RateLimits.RecordSecondary(bucket.InstallationId, until);
                return new RateLimitHit(true, until, resource, message);
            }

            return exhausted ? new RateLimitHit(false, PrimaryReset(snapshot, now), resource, message) : null; // else: permissions, not limits
        }

        if (bucket.IsGraphQL && response.StatusCode == HttpStatusCode.OK &&
            await IsGraphQLRateLimitedAsync(response, cancellationToken).ConfigureAwait(false))
        {
            return new RateLimitHit(false, PrimaryReset(snapshot, now), GraphQL, "RATE_LIMITED");
        }

        bucket.App.RateLimits.ClearSecondary(bucket.InstallationId);
        return null;
    }

    private static void Settle(Bucket bucket, HttpResponseMessage response)
    {
        bucket.App.RateLimits.Record(bucket.InstallationId, bucket.Resource, response.Headers, bucket.App.Clock.TimeProvider.GetUtcNow(), bucket.App.Clock.Offset);
        bucket.App.RateLimits.ClearSecondary(bucket.InstallationId);
    }

    /// <summary>The reset GitHub announced, plus a second; a minute when it announced none.</summary>
    private static DateTimeOffset PrimaryReset(RateLimitSnapshot? snapshot, DateTimeOffset now)
    {
        var reset = snapshot?.LocalResetsAt is { } r ? r + GitHubRateLimits.ResetMargin : now + SecondaryMinimum;
        return reset > now ? reset : now + GitHubRateLimits.ResetMargin;
    }

    private static bool CanWait(Bucket bucket, TimeSpan waited, TimeSpan wait) =>
        bucket.App.Options.MaxRateLimitWait > TimeSpan.Zero && waited + wait <= bucket.App.Options.MaxRateLimitWait;

    private static GitHubRateLimitException Exhausted(Bucket bucket, bool secondary, DateTimeOffset until, DateTimeOffset now, HttpStatusCode? status, string? gitHubMessage)
    {
        var retryAfter = Max(until - now, TimeSpan.Zero);
        var what = secondary
            ? $"GitHub's secondary rate limit (too many requests too quickly) holds {Who(bucket)}"
            : $"GitHub's rate limit for {Who(bucket)} ({bucket.Resource}) is exhausted";
        var said = gitHubMessage is { Length: > 0 } ? $" GitHub said ({(int?)status}): \"{gitHubMessage}\"." : string.Empty;
        var notSent = status is null ? " Hubgate did not send the request." : string.Empty;
        return new GitHubRateLimitException(
            $"{what}; retry at {until:O} (in {Math.Ceiling(retryAfter.TotalSeconds):0} s).{said}{notSent} " +
            $"{bucket.App.Options.ConfigurationPrefix}:MaxRateLimitWait ({bucket.App.Options.MaxRateLimitWait}) is shorter; raise it to wait instead of failing.",
            until, retryAfter, status, secondary, bucket.Resource);
    }

    /// <summary>Which credential and resource a request counts against, or false when it is not for the API (the next handler refuses it).</summary>
    private bool TryGetBucket(HttpRequestMessage request, out Bucket bucket)
    {
        bucket = default;
        if (request.RequestUri is not { } uri)
        {
            return false;
        }

        if (!_settings.TryResolveApp(_apps, request, out var app))
        {
            return false;
        }

        ReadOnlySpan<char> path;
        if (GitHubRoutes.TryGetRelativePath(uri, app.ApiBaseUrl, out var relative))
        {
            path = relative.TrimStart('/');
        }
        else if (IsEnterpriseGraphQL(app.ApiBaseUrl, uri))
        {
            path = GraphQL;
        }
        else
        {
            return false;
        }

        var isGraphQL = request.Method == HttpMethod.Post && path.Equals(GraphQL, StringComparison.OrdinalIgnoreCase);
        var resource = isGraphQL ? GraphQL
            : path.StartsWith("search/code", StringComparison.OrdinalIgnoreCase) ? "code_search"
            : path.StartsWith("search/", StringComparison.OrdinalIgnoreCase) ? "search"
            : GitHubRateLimits.Core;
        long? installationId = null;
        if (!GitHubRoutes.RequiresAppJwt(path))
        {
            if (request.Options.TryGetValue(GitHubRequestOptions.InstallationId, out var named))
            {
                installationId = named;
            }
            else if (_settings.InstallationId is { } fallback)
            {
                installationId = fallback;
            }
            else
            {
                return false;
            }
        }

        bucket = new Bucket(app, installationId, resource, isGraphQL);
        return true;
    }

    /// <summary>GitHub Enterprise Server serves GraphQL at <c>/api/graphql</c>, beside the REST base <c>/api/v3/</c>.</summary>
    private static bool IsEnterpriseGraphQL(Uri apiBase, Uri uri)
    {
        var basePath = apiBase.AbsolutePath;
        return basePath.EndsWith("/api/v3/", StringComparison.OrdinalIgnoreCase) &&
               string.Equals(uri.Scheme, apiBase.Scheme, StringComparison.OrdinalIgnoreCase) &&
               string.Equals(uri.IdnHost, apiBase.IdnHost, StringComparison.OrdinalIgnoreCase) && uri.Port == apiBase.Port &&
               uri.AbsolutePath.AsSpan().TrimEnd('/').Equals((basePath[..^"v3/".Length] + GraphQL).AsSpan(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>GitHub's <c>message</c> of a small JSON error body (the body stays readable for the caller).</summary>
    private static async Task<string> MessageAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is > LargestErrorBody)
        {
            return string.Empty;
        }

        await response.Content.LoadIntoBufferAsync(LargestErrorBody, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return InstallationTokenProvider.GitHubMessage(body);
    }

    /// <summary>A GraphQL answer whose <c>errors</c> include one of type <c>RATE_LIMITED</c> (the body stays readable).</summary>
    private static async Task<bool> IsGraphQLRateLimitedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (body.AsSpan().IndexOf("RATE_LIMITED"u8) < 0)
        {
            return false;
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object ||
                !json.RootElement.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            foreach (var error in errors.EnumerateArray())
            {
                if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("type", out var type) &&
                    type.ValueKind == JsonValueKind.String && type.ValueEquals("RATE_LIMITED"u8))
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static void Count(string resource, bool secondary, string outcome) =>
        Telemetry.HubgateTelemetry.RateLimited.Add(1,
            new KeyValuePair<string, object?>("kind", Kind(secondary)),
            new KeyValuePair<string, object?>("resource", resource),
            new KeyValuePair<string, object?>("outcome", outcome));

    private static string Kind(bool secondary) => secondary ? "secondary" : "primary";

    private static string Who(Bucket bucket)
    {
        var who = bucket.InstallationId is { } id ? $"installation {id}" : "the App";
        return bucket.App.Name == Apps.GitHubApp.DefaultName ? who : $"{who} (App '{bucket.App.Name}')";
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private readonly record struct Bucket(Apps.GitHubApp App, long? InstallationId, string Resource, bool IsGraphQL);

    private sealed record RateLimitHit(bool Secondary, DateTimeOffset Until, string Resource, string Message);

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Warning,
            Message = "GitHub {Kind} rate limit for {Who} ({Resource}, answer {Status}); it holds for {Seconds:0} s")]
        public static partial void RateLimited(ILogger logger, string who, string resource, string kind, int status, double seconds);

        [LoggerMessage(EventId = 321, Level = LogLevel.Information,
            Message = "Waiting {Seconds:0} s for GitHub's {Kind} rate limit of {Who} ({Resource}) before sending")]
        public static partial void Waiting(ILogger logger, string who, string resource, string kind, double seconds);
    }
}
