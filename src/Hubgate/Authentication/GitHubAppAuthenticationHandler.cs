using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>
/// Authorizes each GitHub API request: the App's JWT for app routes (<see cref="GitHubRoutes"/>), an installation
/// token everywhere else. A request that needs credentials is never sent without them, and credentials are never
/// sent anywhere but <c>GitHub:ApiBaseUrl</c> and the same host's GraphQL and uploads endpoints (<see cref="GitHubEndpoints"/>). Recovers from 401s (replication lag, revoked token, clock skew)
/// with at most one new token or JWT per request, records rate limits, and turns an exhausted limit into
/// <see cref="GitHubRateLimitException"/>.
/// </summary>
public sealed partial class GitHubAppAuthenticationHandler : DelegatingHandler
{
    internal const string ApiVersion = "2022-11-28";
    internal static readonly string UserAgent = "Hubgate/" + (typeof(GitHubAppAuthenticationHandler).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

    private static readonly TimeSpan ReplicationLagWindow = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReplicationLagDelay = TimeSpan.FromMilliseconds(500);
    private const int ReplicationLagRetries = 3;

    private readonly InstallationTokenProvider _tokens;
    private readonly AppJwtFactory _jwts;
    private readonly GitHubClock _clock;
    private readonly GitHubRateLimits _rateLimits;
    private readonly GitHubAppOptions _options;
    private readonly GitHubEndpoints _endpoints;
    private readonly GitHubAppAuthenticationSettings _settings;
    private readonly ILogger _logger;

    internal GitHubAppAuthenticationHandler(
        InstallationTokenProvider tokens,
        AppJwtFactory jwts,
        GitHubClock clock,
        GitHubRateLimits rateLimits,
        IOptions<GitHubAppOptions> options,
        GitHubAppAuthenticationSettings settings,
        ILogger<GitHubAppAuthenticationHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _tokens = tokens;
        _jwts = jwts;
        _clock = clock;
        _rateLimits = rateLimits;
        _options = options.Value;
        _endpoints = _options.Endpoints;
        _settings = settings;
        _logger = logger;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        if (!_endpoints.TryGetRoutePath(uri, out var relativePath))
        {
            throw new InvalidOperationException(
                $"Refusing to send GitHub App credentials to {uri.GetLeftPart(UriPartial.Authority)}: it is not under GitHub:ApiBaseUrl ({_options.NormalizedApiBaseUrl}) " +
                $"nor its GraphQL ({_endpoints.GraphQL}) or uploads ({_endpoints.UploadsBase}) endpoint.");
        }

        var headers = request.Headers;
        if (!headers.NonValidated.Contains("Accept"))
        {
            headers.TryAddWithoutValidation("Accept", "application/vnd.github+json");
        }

        if (!headers.NonValidated.Contains("X-GitHub-Api-Version"))
        {
            headers.TryAddWithoutValidation("X-GitHub-Api-Version", ApiVersion);
        }

        headers.Remove("User-Agent");
        headers.TryAddWithoutValidation("User-Agent", UserAgent);

        if (GitHubRoutes.RequiresAppJwt(relativePath) ||
            (request.Options.TryGetValue(GitHubRequestOptions.ActAsApp, out var asApp) && asApp))
        {
            return SendAsAppAsync(request, cancellationToken);
        }

        if (!request.Options.TryGetValue(GitHubRequestOptions.InstallationId, out var installationId))
        {
            installationId = _settings.InstallationId ?? throw new InvalidOperationException(
                "This GitHub request needs an installation token but names no installation: pass the installation id to " +
                "AddGitHubAppAuthentication(installationId) or call request.ForInstallation(id).");
        }

        // The hot path (a cached token, an answer that needs no recovery) stays free of async state machines.
        var scope = request.Options.TryGetValue(GitHubRequestOptions.TokenScope, out var narrowed) ? narrowed : InstallationTokenScope.Full;
        var pending = _tokens.GetTokenAsync(installationId, scope, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return SendAsInstallationAsync(request, installationId, scope, pending, cancellationToken);
        }

        var token = pending.Result;
        Authorize(request, token.AuthorizationHeader);
        var sent = base.SendAsync(request, cancellationToken);
        if (sent.IsCompletedSuccessfully && !NeedsAttention(sent.Result.StatusCode))
        {
            _rateLimits.Record(installationId, sent.Result.Headers, _clock.TimeProvider.GetUtcNow());
            return sent;
        }

        return RecoverAsync(request, installationId, scope, token, sent, cancellationToken);
    }

    private static bool NeedsAttention(HttpStatusCode status) =>
        status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests;

    private async Task<HttpResponseMessage> SendAsAppAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await _clock.EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        Authorize(request, "Bearer " + _jwts.GetJwt());
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.Unauthorized && CanResend(request) &&
            response.Headers.Date is { } gitHubNow &&
            await IsClockComplaintAsync(response, cancellationToken).ConfigureAwait(false) &&
            await _clock.LearnFromAsync(gitHubNow, cancellationToken).ConfigureAwait(false))
        {
            response.Dispose();
            _jwts.Invalidate();
            Authorize(request, "Bearer " + _jwts.GetJwt());
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return await CheckRateLimitAsync(request, response, installationId: null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsInstallationAsync(
        HttpRequestMessage request, long installationId, InstallationTokenScope scope, ValueTask<InstallationToken> pending, CancellationToken cancellationToken)
    {
        var token = await pending.ConfigureAwait(false);
        Authorize(request, token.AuthorizationHeader);
        return await RecoverAsync(request, installationId, scope, token, base.SendAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> RecoverAsync(
        HttpRequestMessage request, long installationId, InstallationTokenScope scope, InstallationToken token, Task<HttpResponseMessage> sent, CancellationToken cancellationToken)
    {
        var response = await sent.ConfigureAwait(false);
        var lagRetries = 0;
        var reminted = false;
        while (response.StatusCode == HttpStatusCode.Unauthorized && CanResend(request))
        {
            if (_clock.TimeProvider.GetUtcNow() - token.MintedAt < ReplicationLagWindow && lagRetries < ReplicationLagRetries)
            {
                // A token minted moments ago may not have reached every GitHub replica yet.
                lagRetries++;
                Log.ReplicationLagRetry(_logger, installationId, lagRetries);
                await Task.Delay(ReplicationLagDelay * lagRetries, _clock.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            else if (!reminted)
            {
                reminted = true;
                Log.TokenRejected(_logger, installationId);
                await _tokens.InvalidateAsync(installationId, scope, token, cancellationToken).ConfigureAwait(false);
                token = await _tokens.GetTokenAsync(installationId, scope, cancellationToken).ConfigureAwait(false);
                Authorize(request, token.AuthorizationHeader);
            }
            else
            {
                break;
            }

            response.Dispose();
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return await CheckRateLimitAsync(request, response, installationId, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> CheckRateLimitAsync(HttpRequestMessage request, HttpResponseMessage response, long? installationId, CancellationToken cancellationToken)
    {
        var now = _clock.TimeProvider.GetUtcNow();
        _rateLimits.Record(installationId, response.Headers, now);
        if (response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests))
        {
            return response;
        }

        var retryAfter = response.Headers.RetryAfter is { } ra
            ? ra.Delta ?? (ra.Date is { } d ? d - (response.Headers.Date ?? _clock.UtcNow) : null)
            : null;
        GitHubRateLimits.TryParse(response.Headers, now, out var snapshot);
        var exhausted = snapshot is { Remaining: 0 };
        if (!exhausted && retryAfter is null)
        {
            return response; // a plain 403: permissions, not rate limits
        }

        // Reset is on GitHub's clock; convert the wait to ours.
        var wait = retryAfter ?? (snapshot?.ResetsAt is { } reset ? reset - (response.Headers.Date ?? _clock.UtcNow) : TimeSpan.Zero);
        if (wait < TimeSpan.Zero)
        {
            wait = TimeSpan.Zero;
        }

        var who = installationId is { } id ? $"installation {id}" : "the App";
        Log.RateLimited(_logger, who, (int)response.StatusCode, wait.TotalSeconds);
        if (_options.MaxRateLimitWait > TimeSpan.Zero && wait <= _options.MaxRateLimitWait && CanResend(request))
        {
            response.Dispose();
            await Task.Delay(wait + TimeSpan.FromSeconds(1), _clock.TimeProvider, cancellationToken).ConfigureAwait(false);
            var retried = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            _rateLimits.Record(installationId, retried.Headers, _clock.TimeProvider.GetUtcNow());
            return retried;
        }

        if (!_settings.ThrowOnRateLimit)
        {
            return response;
        }

        var status = response.StatusCode;
        response.Dispose();
        var resetsAt = snapshot?.ResetsAt is { } r ? r - _clock.Offset : (DateTimeOffset?)null;
        throw new GitHubRateLimitException(
            $"GitHub's rate limit for {who} is exhausted; " +
            (retryAfter is { } after ? $"retry after {after.TotalSeconds:0} s." : $"it resets at {resetsAt:O}.") +
            " Set GitHub:MaxRateLimitWait to wait instead of failing.",
            resetsAt, retryAfter, status);
    }

    private static void Authorize(HttpRequestMessage request, string value)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", value);
    }

    internal static bool CanResend(HttpRequestMessage request) =>
        request.Content is null or ByteArrayContent or JsonContent or MultipartContent;

    private static async Task<bool> IsClockComplaintAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var message = InstallationTokenProvider.GitHubMessage(body);
        return message.Contains("'exp'", StringComparison.Ordinal) || message.Contains("'iat'", StringComparison.Ordinal) ||
               message.Contains("Expiration time", StringComparison.OrdinalIgnoreCase) ||
               message.Contains("Issued at", StringComparison.OrdinalIgnoreCase);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "GitHub rejected a fresh token of installation {InstallationId} (replication lag); retry {Attempt}")]
        public static partial void ReplicationLagRetry(ILogger logger, long installationId, int attempt);

        [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "GitHub rejected the token of installation {InstallationId} (401); minting a new one")]
        public static partial void TokenRejected(ILogger logger, long installationId);

        [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "GitHub rate limit reached for {Who} ({Status}); resets in {Seconds:0} s")]
        public static partial void RateLimited(ILogger logger, string who, int status, double seconds);
    }
}

/// <summary>How one HTTP client's <see cref="GitHubAppAuthenticationHandler"/> behaves.</summary>
/// <param name="InstallationId">The default installation for requests that name none.</param>
/// <param name="ThrowOnRateLimit">Throw <see cref="GitHubRateLimitException"/> (true) or pass GitHub's answer through (the proxy).</param>
public sealed record GitHubAppAuthenticationSettings(long? InstallationId = null, bool ThrowOnRateLimit = true);
