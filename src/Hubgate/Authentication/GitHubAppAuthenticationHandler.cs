using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Authentication;

/// <summary>
/// Authorizes each GitHub API request: the App's JWT for app routes (<see cref="GitHubRoutes"/>), an installation
/// token everywhere else. A request that needs credentials is never sent without them, and credentials are never
/// sent anywhere but <c>GitHub:ApiBaseUrl</c> and the same host's GraphQL and uploads endpoints
/// (<see cref="GitHubEndpoints"/>). Recovers from 401s (replication lag, revoked token, clock skew) with at most one
/// new token or JWT per request. Rate limits are <see cref="GitHubRateLimitGate"/>'s, outside it.
/// </summary>
internal sealed partial class GitHubAppAuthenticationHandler : DelegatingHandler
{
    internal const string ApiVersion = "2022-11-28";
    internal static readonly string UserAgent = "Hubgate/" + (typeof(GitHubAppAuthenticationHandler).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

    private static readonly TimeSpan ReplicationLagWindow = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReplicationLagDelay = TimeSpan.FromMilliseconds(500);
    private const int ReplicationLagRetries = 3;

    private readonly Apps.GitHubApps _apps;
    private readonly GitHubAppAuthenticationSettings _settings;
    private readonly ILogger _logger;

    internal GitHubAppAuthenticationHandler(
        Apps.GitHubApps apps,
        GitHubAppAuthenticationSettings settings,
        ILogger<GitHubAppAuthenticationHandler> logger)
    {
        _apps = apps;
        _settings = settings;
        _logger = logger;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var app = _settings.ResolveApp(_apps, request);
        if (!app.Endpoints.TryGetRoutePath(uri, out var relativePath))
        {
            var destination = new Uri(uri.GetLeftPart(UriPartial.Authority));
            throw new GitHubCredentialsRefusedException(
                $"Refusing to send GitHub App credentials to {destination.GetLeftPart(UriPartial.Authority)}: it is not under {app.Options.ConfigurationPrefix}:ApiBaseUrl ({app.ApiBaseUrl}) " +
                $"nor its GraphQL ({app.Endpoints.GraphQL}) or uploads ({app.Endpoints.UploadsBase}) endpoint.",
                destination);
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
            return SendAsAppAsync(app, request, cancellationToken);
        }

        if (!request.Options.TryGetValue(GitHubRequestOptions.InstallationId, out var installationId))
        {
            installationId = _settings.InstallationId ?? throw new InvalidOperationException(
                "This GitHub request needs an installation token but names no installation: pass the installation id to " +
                "AddGitHubAppAuthentication(installationId) or call request.ForInstallation(id).");
        }

        // The hot path (a cached token, an answer that needs no recovery) stays free of async state machines.
        var scope = request.Options.TryGetValue(GitHubRequestOptions.TokenScope, out var narrowed) ? narrowed : InstallationTokenScope.Full;
        var pending = app.Tokens.GetTokenAsync(installationId, scope, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return SendAsInstallationAsync(app, request, installationId, scope, pending, cancellationToken);
        }

        var token = pending.Result;
        Authorize(request, token.AuthorizationHeader);
        var sent = base.SendAsync(request, cancellationToken);
        if (sent.IsCompletedSuccessfully && sent.Result.StatusCode != HttpStatusCode.Unauthorized)
        {
            return sent;
        }

        return RecoverAsync(app, request, installationId, scope, token, sent, cancellationToken);
    }

    private async Task<HttpResponseMessage> SendAsAppAsync(Apps.GitHubApp app, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var clock = app.Clock;
        var jwts = app.Jwts;
        await clock.EnsureLoadedAsync(cancellationToken).ConfigureAwait(false);
        Authorize(request, "Bearer " + jwts.GetJwt());
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.Unauthorized && CanResend(request) &&
            response.Headers.Date is { } gitHubNow &&
            await IsClockComplaintAsync(response, cancellationToken).ConfigureAwait(false) &&
            await clock.LearnFromAsync(gitHubNow, cancellationToken).ConfigureAwait(false))
        {
            response.Dispose();
            jwts.Invalidate();
            Authorize(request, "Bearer " + jwts.GetJwt());
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    private async Task<HttpResponseMessage> SendAsInstallationAsync(
        Apps.GitHubApp app, HttpRequestMessage request, long installationId, InstallationTokenScope scope, ValueTask<InstallationToken> pending, CancellationToken cancellationToken)
    {
        var token = await pending.ConfigureAwait(false);
        Authorize(request, token.AuthorizationHeader);
        return await RecoverAsync(app, request, installationId, scope, token, base.SendAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> RecoverAsync(
        Apps.GitHubApp app, HttpRequestMessage request, long installationId, InstallationTokenScope scope, InstallationToken token, Task<HttpResponseMessage> sent, CancellationToken cancellationToken)
    {
        var response = await sent.ConfigureAwait(false);
        var lagRetries = 0;
        var reminted = false;
        while (response.StatusCode == HttpStatusCode.Unauthorized && CanResend(request))
        {
            if (app.Clock.TimeProvider.GetUtcNow() - token.MintedAt < ReplicationLagWindow && lagRetries < ReplicationLagRetries)
            {
                // A token minted moments ago may not have reached every GitHub replica yet.
                lagRetries++;
                Log.ReplicationLagRetry(_logger, installationId, lagRetries);
                await Task.Delay(ReplicationLagDelay * lagRetries, app.Clock.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            else if (!reminted)
            {
                reminted = true;
                Log.TokenRejected(_logger, installationId);
                await app.Tokens.InvalidateAsync(installationId, scope, token, cancellationToken).ConfigureAwait(false);
                token = await app.Tokens.GetTokenAsync(installationId, scope, cancellationToken).ConfigureAwait(false);
                Authorize(request, token.AuthorizationHeader);
            }
            else
            {
                break;
            }

            response.Dispose();
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    private static void Authorize(HttpRequestMessage request, string value)
    {
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", value);
    }

    /// <summary>True when the request's content can be sent again (buffered, or none).</summary>
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
    }
}

/// <summary>How one HTTP client's <see cref="GitHubAppAuthenticationHandler"/> and <see cref="GitHubRateLimitGate"/> behave.</summary>
/// <param name="InstallationId">The default installation for requests that name none.</param>
/// <param name="ThrowOnRateLimit">
/// When a limit outlasts <c>GitHub:MaxRateLimitWait</c>: throw <see cref="GitHubRateLimitException"/> (true) or pass
/// GitHub's answer through (the proxy). A request Hubgate knows would be refused is never sent either way.
/// </param>
/// <param name="App">The App the client acts as (default <c>default</c>); a request may name another with <see cref="GitHubRequestOptions.ForApp"/>.</param>
public sealed record GitHubAppAuthenticationSettings(long? InstallationId = null, bool ThrowOnRateLimit = true, string? App = null)
{
    /// <summary>The App <paramref name="request"/> is sent as: its own <see cref="GitHubRequestOptions.App"/>, else this client's, else <c>default</c>.</summary>
    internal bool TryResolveApp(Apps.GitHubApps apps, HttpRequestMessage request, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Apps.GitHubApp? app) =>
        apps.TryGet(Name(request), out app);

    /// <summary>As <see cref="TryResolveApp"/>, or <see cref="Apps.GitHubAppNotFoundException"/>.</summary>
    internal Apps.GitHubApp ResolveApp(Apps.GitHubApps apps, HttpRequestMessage request) => apps.Get(Name(request));

    private string Name(HttpRequestMessage request) =>
        request.Options.TryGetValue(GitHubRequestOptions.App, out var named) ? named : App ?? Apps.GitHubApp.DefaultName;
}
