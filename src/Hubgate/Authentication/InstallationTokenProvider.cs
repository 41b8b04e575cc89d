using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Hubgate.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>
/// A valid installation token for an installation id and scope (<see cref="InstallationTokenScope"/>): from memory,
/// else from the database, else minted with <c>POST /app/installations/{id}/access_tokens</c> (with the scope's
/// repositories and permissions) — once per (installation, scope), however many callers ask at the same time.
/// Tokens are refreshed <c>GitHub:TokenRefreshAhead</c> before they expire; a token without a known expiry is
/// refreshed on its next use.
/// </summary>
public sealed partial class InstallationTokenProvider
{
    /// <summary>The named <see cref="HttpClient"/> used to mint tokens (App JWT, retries on 5xx and timeouts).</summary>
    public const string MintClientName = "Hubgate.GitHubApp.Tokens";

    private static readonly TimeSpan RefreshRetryPause = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<TokenKey, InstallationToken> _cache = new();
    private readonly ConcurrentDictionary<TokenKey, SemaphoreSlim> _gates = new();
    private readonly ConcurrentDictionary<TokenKey, DateTimeOffset> _refreshPausedUntil = new();
    private readonly IHttpClientFactory _httpClients;
    private readonly InstallationTokenStore _store;
    private readonly GitHubAppOptions _options;
    private readonly TimeProvider _time;
    private readonly GitHubClock _clock;
    private readonly ILogger<InstallationTokenProvider> _logger;

    internal InstallationTokenProvider(
        string app,
        IHttpClientFactory httpClients,
        InstallationTokenStore store,
        GitHubAppOptions options,
        GitHubClock clock,
        ILogger<InstallationTokenProvider> logger)
    {
        App = app;
        _httpClients = httpClients;
        _store = store;
        _options = options;
        _clock = clock;
        _time = clock.TimeProvider;
        _logger = logger;
    }

    /// <summary>The App whose installations' tokens these are.</summary>
    public string App { get; }

    /// <summary>A token that is valid for at least <c>GitHub:TokenRefreshAhead</c> more.</summary>
    /// <exception cref="InstallationNotFoundException">GitHub does not know the installation.</exception>
    /// <exception cref="InstallationSuspendedException">The installation is suspended.</exception>
    /// <exception cref="GitHubApiException">GitHub refused to mint a token, or could not be reached.</exception>
    public ValueTask<InstallationToken> GetTokenAsync(long installationId, CancellationToken cancellationToken = default) =>
        GetTokenAsync(installationId, InstallationTokenScope.Full, cancellationToken);

    /// <summary>A token limited to <paramref name="scope"/>, valid for at least <c>GitHub:TokenRefreshAhead</c> more.</summary>
    /// <exception cref="InstallationTokenScopeException">GitHub refused the scope (a repository or permission the installation lacks).</exception>
    /// <exception cref="InstallationNotFoundException">GitHub does not know the installation.</exception>
    /// <exception cref="InstallationSuspendedException">The installation is suspended.</exception>
    /// <exception cref="GitHubApiException">GitHub refused to mint a token, or could not be reached.</exception>
    public ValueTask<InstallationToken> GetTokenAsync(long installationId, InstallationTokenScope scope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var key = new TokenKey(installationId, scope);
        if (_cache.TryGetValue(key, out var cached) && IsFresh(cached, _time.GetUtcNow()))
        {
            Telemetry.HubgateTelemetry.TokenCacheHits.Add(1);
            return new ValueTask<InstallationToken>(cached);
        }

        return new ValueTask<InstallationToken>(GetSlowAsync(key, cancellationToken));
    }

    /// <summary>
    /// Drops <paramref name="rejected"/> (GitHub answered 401 to it) so the next <see cref="GetTokenAsync(long, InstallationTokenScope, CancellationToken)"/> mints.
    /// A token that has already been replaced is left alone, so concurrent callers cause one mint between them.
    /// </summary>
    public Task InvalidateAsync(long installationId, InstallationToken rejected, CancellationToken cancellationToken = default) =>
        InvalidateAsync(installationId, InstallationTokenScope.Full, rejected, cancellationToken);

    /// <summary>As <see cref="InvalidateAsync(long, InstallationToken, CancellationToken)"/>, for the token of one scope.</summary>
    public async Task InvalidateAsync(long installationId, InstallationTokenScope scope, InstallationToken rejected, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(rejected);
        var key = new TokenKey(installationId, scope);
        if (_cache.TryGetValue(key, out var cached) && !ReferenceEquals(cached, rejected) && cached.Token != rejected.Token)
        {
            return;
        }

        // The stored copy goes first: a caller that misses the memory cache in between must not load it back.
        await _store.ClearAsync(App, installationId, scope, rejected.MintedAt, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(new KeyValuePair<TokenKey, InstallationToken>(key, cached ?? rejected));
    }

    /// <summary>Forgets every token of the installation, of every scope (uninstalled, suspended, permissions changed).</summary>
    internal async Task DropAsync(long installationId, CancellationToken cancellationToken = default)
    {
        ForgetInstallation(installationId);
        await _store.ClearAsync(App, installationId, scope: null, mintedAt: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Puts a token in the memory cache as a mint would (benchmarks and tests).</summary>
    internal void Seed(long installationId, InstallationToken token) => Seed(installationId, InstallationTokenScope.Full, token);

    /// <summary>Puts a token of a scope in the memory cache as a mint would (benchmarks and tests).</summary>
    internal void Seed(long installationId, InstallationTokenScope scope, InstallationToken token) => _cache[new TokenKey(installationId, scope)] = token;

    /// <summary>The cached token's expiry without minting, for status pages.</summary>
    internal DateTimeOffset? CachedExpiry(long installationId) =>
        _cache.TryGetValue(new TokenKey(installationId, InstallationTokenScope.Full), out var t) ? t.ExpiresAt : null;

    private void ForgetInstallation(long installationId)
    {
        foreach (var key in _cache.Keys)
        {
            if (key.InstallationId == installationId)
            {
                _cache.TryRemove(key, out _);
            }
        }
    }

    private bool IsFresh(InstallationToken token, DateTimeOffset now) =>
        token.ExpiresAt is { } expiresAt && now < expiresAt - _options.TokenRefreshAhead;

    private static bool IsUsable(InstallationToken token, DateTimeOffset now) =>
        token.ExpiresAt is { } expiresAt && now < expiresAt;

    private async Task<InstallationToken> GetSlowAsync(TokenKey key, CancellationToken cancellationToken)
    {
        var installationId = key.InstallationId;
        var gate = _gates.GetOrAdd(key, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            _cache.TryGetValue(key, out var cached);
            if (cached is not null && IsFresh(cached, now))
            {
                return cached;
            }

            // A refresh-ahead that failed recently: keep serving the still-valid token instead of hammering GitHub.
            if (cached is not null && IsUsable(cached, now) &&
                _refreshPausedUntil.TryGetValue(key, out var pausedUntil) && now < pausedUntil)
            {
                return cached;
            }

            try
            {
                var token = await _store.RunExclusiveAsync(App, installationId, key.Scope, (db, ct) => LoadOrMintAsync(db, key, ct), cancellationToken)
                    .ConfigureAwait(false);
                _cache[key] = token;
                _refreshPausedUntil.TryRemove(key, out _);
                return token;
            }
            catch (Exception ex) when (cached is not null && IsUsable(cached, _time.GetUtcNow()) && IsTransient(ex) && !cancellationToken.IsCancellationRequested)
            {
                _refreshPausedUntil[key] = _time.GetUtcNow() + RefreshRetryPause;
                Log.RefreshAheadFailed(_logger, installationId, cached.ExpiresAt, ex.GetType().Name, ex.Message);
                return cached;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<InstallationToken> LoadOrMintAsync(HubgateDbContext db, TokenKey key, CancellationToken cancellationToken)
    {
        var (installationId, scope) = key;
        // Another process (or this one before a restart) may have stored a good token.
        var stored = await _store.LoadAsync(db, App, installationId, scope, cancellationToken).ConfigureAwait(false);
        if (stored is not null && IsFresh(stored, _time.GetUtcNow()))
        {
            return stored;
        }

        Log.RefreshStart(_logger, installationId, stored?.ExpiresAt);
        InstallationToken token;
        try
        {
            token = await MintAsync(installationId, scope, cancellationToken).ConfigureAwait(false);
            Telemetry.HubgateTelemetry.TokenMints.Add(1, new KeyValuePair<string, object?>("result", "minted"));
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Telemetry.HubgateTelemetry.TokenMints.Add(1, new KeyValuePair<string, object?>("result", "failed"));
            throw;
        }

        await _store.SaveAsync(db, App, installationId, scope, token, cancellationToken).ConfigureAwait(false);
        Log.RefreshEnd(_logger, installationId, stored?.ExpiresAt, token.ExpiresAt);
        return token;
    }

    private async Task<InstallationToken> MintAsync(long installationId, InstallationTokenScope scope, CancellationToken cancellationToken)
    {
        var client = _httpClients.CreateClient(MintClientName);
        var path = string.Create(CultureInfo.InvariantCulture, $"app/installations/{installationId}/access_tokens");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.NormalizedApiBaseUrl, path));
        request.ForApp(App);
        if (scope.MintRequestBody() is { } scoped)
        {
            request.Content = new ByteArrayContent(scoped) { Headers = { ContentType = new("application/json") } };
        }

        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new GitHubApiException(
                $"GitHub did not answer the token request for installation {installationId} ({ex.GetType().Name}: {ex.Message}); " +
                $"tried 4 times with GitHub:RequestTimeout {_options.RequestTimeout}. Check that {_options.NormalizedApiBaseUrl} is reachable.",
                statusCode: null, ex);
        }

        using var disposeResponse = response;

        switch (response.StatusCode)
        {
            case HttpStatusCode.Created or HttpStatusCode.OK:
                return ParseToken(body, response.Headers.Date);
            case HttpStatusCode.NotFound:
                await _store.MarkAsync(App, installationId, InstallationStatus.Deleted, cancellationToken).ConfigureAwait(false);
                ForgetInstallation(installationId);
                Log.InstallationGone(_logger, installationId, "deleted");
                throw new InstallationNotFoundException(installationId);
            case HttpStatusCode.Forbidden when GitHubMessage(body).Contains("suspended", StringComparison.OrdinalIgnoreCase):
                await _store.MarkAsync(App, installationId, InstallationStatus.Suspended, cancellationToken).ConfigureAwait(false);
                ForgetInstallation(installationId);
                Log.InstallationGone(_logger, installationId, "suspended");
                throw new InstallationSuspendedException(installationId);
            case HttpStatusCode.UnprocessableEntity when !scope.IsFull:
                throw new InstallationTokenScopeException(installationId, scope, GitHubMessage(body));
            case HttpStatusCode.Unauthorized:
                throw new GitHubAppCredentialsRejectedException(App, installationId,
                    $"GitHub rejected the App's JWT while minting a token for installation {installationId}: {GitHubMessage(body)}. " +
                    "Check that GitHub:AppId / GitHub:ClientId and the private key belong to the same App.");
            default:
                throw new GitHubApiException(
                    $"GitHub answered {(int)response.StatusCode} while minting a token for installation {installationId}: {GitHubMessage(body)}",
                    response.StatusCode);
        }
    }

    private InstallationToken ParseToken(byte[] body, DateTimeOffset? gitHubDate)
    {
        var now = _time.GetUtcNow();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        if (!root.TryGetProperty("token", out var tokenElement) || tokenElement.ValueKind != JsonValueKind.String ||
            tokenElement.GetString() is not { Length: > 0 } token)
        {
            throw new GitHubApiException("GitHub's access_tokens answer carried no token.");
        }

        DateTimeOffset? expiresAt = null;
        if (root.TryGetProperty("expires_at", out var e) && e.ValueKind == JsonValueKind.String &&
            DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var gitHubExpiry))
        {
            // GitHub dates the expiry by its own clock; keep the lifetime it granted, measured on ours.
            var issuedBy = gitHubDate ?? _clock.UtcNow;
            expiresAt = now + (gitHubExpiry - issuedBy);
        }

        var permissions = root.TryGetProperty("permissions", out var p) && p.ValueKind == JsonValueKind.Object ? p.GetRawText() : null;
        var selection = root.TryGetProperty("repository_selection", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return new InstallationToken(token, expiresAt, now, permissions, selection);
    }

    internal static string GitHubMessage(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object &&
                json.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
            {
                return m.GetString() ?? string.Empty;
            }
        }
        catch (JsonException)
        {
        }

        return "(no message)";
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        InstallationNotFoundException or InstallationSuspendedException or GitHubRateLimitException or InstallationTokenScopeException => false,
        GitHubApiException api => api.StatusCode is null or >= HttpStatusCode.InternalServerError,
        HttpRequestException or TimeoutException or TaskCanceledException => true,
        Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException => true,
        _ => false,
    };

    /// <summary>The cache's key: one token per (installation, canonical scope).</summary>
    private readonly record struct TokenKey(long InstallationId, InstallationTokenScope Scope);

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, EventName = "token.refresh_start", Level = LogLevel.Information,
            Message = "token.refresh_start installation_id={InstallationId} old_expires_at={OldExpiresAt}")]
        public static partial void RefreshStart(ILogger logger, long installationId, DateTimeOffset? oldExpiresAt);

        [LoggerMessage(EventId = 301, EventName = "token.refresh_end", Level = LogLevel.Information,
            Message = "token.refresh_end installation_id={InstallationId} old_expires_at={OldExpiresAt} new_expires_at={NewExpiresAt}")]
        public static partial void RefreshEnd(ILogger logger, long installationId, DateTimeOffset? oldExpiresAt, DateTimeOffset? newExpiresAt);

        [LoggerMessage(EventId = 302, EventName = "token.refresh_failed", Level = LogLevel.Warning,
            Message = "token.refresh_failed installation_id={InstallationId}: serving the current token (expires {ExpiresAt}) and retrying later; {ErrorType}: {Error}")]
        public static partial void RefreshAheadFailed(ILogger logger, long installationId, DateTimeOffset? expiresAt, string errorType, string error);

        [LoggerMessage(EventId = 303, EventName = "installation.gone", Level = LogLevel.Warning,
            Message = "GitHub installation {InstallationId} is {Status}; marked in the database")]
        public static partial void InstallationGone(ILogger logger, long installationId, string status);
    }
}
