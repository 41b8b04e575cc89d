using System.Diagnostics;
using System.Net;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Problems;
using Hubgate.Server.Access;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;

namespace Hubgate.Server.Proxy;

/// <summary>
/// Forwards a caller's request to the route's App's GitHub with that App's credentials only (YARP's forwarder): any method, bodies
/// streamed both ways, GitHub's status and headers (rate limits included) passed back. The caller's own
/// <c>Authorization</c> and cookies never reach GitHub. Redirects are the caller's to follow, through the proxy
/// (<see cref="ProxyLinkRewriter"/>).
/// </summary>
internal sealed partial class GitHubProxy : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly GitHubApps _apps;
    private readonly ILogger<GitHubProxy> _logger;
    private readonly ProxyAccess _access;
    private readonly ClientTokenScopes _scopes;

    public GitHubProxy(
        IHttpForwarder forwarder, IServiceProvider services, GitHubApps apps, ProxyAccess access, ClientTokenScopes scopes, ILogger<GitHubProxy> logger)
    {
        _access = access;
        _scopes = scopes;
        _forwarder = forwarder;
        _apps = apps;
        _logger = logger;
        var handler = GitHubAppServiceCollectionExtensions.CreatePipeline(services, new GitHubAppAuthenticationSettings(ThrowOnRateLimit: false), new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(15),
            EnableMultipleHttp2Connections = true,
        });
        _invoker = new HttpMessageInvoker(handler);
    }

    /// <summary>Forwards the request to the route's App's API base + the path the router matched, with the route's credential.</summary>
    public async Task ForwardAsync(HttpContext context, ProxyRoute route)
    {
        if (await _apps.FindAsync(route.App, context.RequestAborted) is not { } app)
        {
            await HubgateProblems.WriteAsync(context, HubgateProblems.UnknownApp, GitHubApp.IsValidName(route.App)
                ? new GitHubAppNotFoundException(route.App).Message
                : $"'{route.App}' is not a GitHub App name (1 to 64 of a-z, 0-9 and '-').");
            return;
        }

        var missing = app.Options.MissingCredentialKeys();
        if (missing.Count > 0)
        {
            await HubgateProblems.WriteAsync(context, HubgateProblems.AppNotConfigured,
                $"The proxy needs the credentials of the GitHub App '{app.Name}': set {string.Join(" and ", missing)}.");
            return;
        }

        if (!ProxyPath.TryGetTail(context, route.Prefix, out var tail, out var problem) ||
            !ProxyPath.TryResolve(tail, app.ApiBaseUrl, out var target, out problem))
        {
            await HubgateProblems.WriteAsync(context, HubgateProblems.RefusedProxyPath, $"Refused proxy path: {problem}.");
            return;
        }

        if (!ProxyPath.MatchesRoutedPath(tail, route.Path))
        {
            await HubgateProblems.WriteAsync(context, HubgateProblems.RefusedProxyPath, "Refused proxy path: the path as sent is not the path as routed.");
            return;
        }

        if (RouteProblem(route, route.Root) is { } wrongRoute)
        {
            await HubgateProblems.WriteAsync(context, HubgateProblems.RefusedProxyPath, wrongRoute);
            return;
        }

        var client = context.GetClient();
        if (await _access.CheckAsync(client, app.Name, context.Request.Method, route.InstallationId, route.Path ?? string.Empty, context.RequestAborted) is { } refusal)
        {
            await refusal.ToResult(context).ExecuteAsync(context);
            return;
        }

        // A limited client's requests carry a token minted for its scope, so GitHub holds every route to the policy.
        var scope = InstallationTokenScope.Full;
        if (route.InstallationId is { } installationId)
        {
            var resolved = await _scopes.ResolveAsync(client, app.Name, installationId, context.RequestAborted);
            if (resolved.Refusal is { } none)
            {
                await none.ToResult(context).ExecuteAsync(context);
                return;
            }

            scope = resolved.Scope;
        }

        // Logged and counted as it is sent: the path the router matched, which is the path GitHub receives.
        var sentPath = "/" + route.Path;
        target = ProxyTargets.Map(target, app.Endpoints, forApp: route.InstallationId is null, out var actAsApp);
        var transformer = new Transformer(app.Name, target, route.InstallationId, scope, actAsApp, new ProxyLinkRewriter(app.Endpoints, route.Root, route.InstallationId));
        var error = await _forwarder.SendAsync(context, app.ApiBaseUrl.AbsoluteUri, _invoker, ForwarderRequestConfig.Empty, transformer);
        if (error != ForwarderError.None)
        {
            var exception = context.GetForwarderErrorFeature()?.Exception;
            var (kind, message, retryAfter) = Describe(exception);
            Log.ProxyFailed(_logger, app.Name, context.Request.Method, sentPath, error.ToString(), exception?.GetType().Name ?? "none");
            if (!context.Response.HasStarted && ScopeRefused(exception) is { } refused)
            {
                // GitHub would not mint the client's scope: the policy names something the installation lacks.
                context.Response.Clear();
                await new AccessRefusal(client.Name, "scope", refused.Message +
                    $" (Hubgate:Clients:{client.Name}:Repositories and :Permissions)").ToResult(context).ExecuteAsync(context);
            }
            else if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                if (retryAfter is { } seconds)
                {
                    context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await HubgateProblems.WriteAsync(context, kind, message, new KeyValuePair<string, object?>("retryAfter", seconds));
                }
                else
                {
                    await HubgateProblems.WriteAsync(context, kind, message);
                }
            }
        }

        ProxyTelemetry.Proxied(_logger, client.Name, app.Name, context.Request.Method, sentPath, route.InstallationId, context.Response.StatusCode);
    }

    public void Dispose() => _invoker.Dispose();

    /// <summary>
    /// Each route has one credential: the installation route never switches to the App's JWT, and the App route
    /// forwards only paths GitHub serves to the App (<see cref="GitHubRoutes.RequiresAppJwt"/>).
    /// </summary>
    private static string? RouteProblem(ProxyRoute route, string root)
    {
        var appPath = route.InstallationId is null ? ProxyTargets.ReachableAsApp(route.Path) : GitHubRoutes.RequiresAppJwt(route.Path);
        return (route.InstallationId, appPath) switch
        {
            (not null, true) => $"Refused proxy path: /{route.Path} is made as the GitHub App, not as an installation; use {root}app/{route.Path}.",
            (null, false) => $"Refused proxy path: /{route.Path} is not a GitHub App route (those are /app/…, /marketplace_listing/…, /graphql and " +
                             "/repos/{owner}/{repo}/installation, /orgs/{org}/installation, /users/{user}/installation, " +
                             "/enterprises/{enterprise}/installation); use " + root + "installations/{installation_id}/" + route.Path + ".",
            _ => null,
        };
    }

    private static InstallationTokenScopeException? ScopeRefused(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is InstallationTokenScopeException refused)
            {
                return refused;
            }
        }

        return null;
    }

    /// <summary>
    /// The problem a failed forward answers, chosen by the type of the exception (or of one it wraps), never by its
    /// message's words.
    /// </summary>
    internal static (ProblemKind Kind, string Message, int? RetryAfter) Describe(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case GitHubAppNotConfiguredException or AppPrivateKeyException:
                    return (HubgateProblems.AppNotConfigured, e.Message, null);
                case InstallationNotFoundException:
                    return (HubgateProblems.InstallationNotFound, e.Message, null);
                case InstallationSuspendedException:
                    return (HubgateProblems.InstallationSuspended, e.Message, null);
                case GitHubRateLimitException limited:
                    return (HubgateProblems.GitHubRateLimited, e.Message,
                        limited.RetryAfter is { } wait ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : null);
                case GitHubApiException:
                    return (HubgateProblems.GitHubFailed, e.Message, null);
                case GitHubCredentialsRefusedException:
                    return (HubgateProblems.RefusedProxyPath, e.Message, null);
            }
        }

        return (HubgateProblems.GitHubFailed, "GitHub could not be reached.", null);
    }

    private sealed class Transformer(string app, Uri target, long? installationId, InstallationTokenScope scope, bool actAsApp, ProxyLinkRewriter links) : HttpTransformer
    {
        private static readonly string[] Dropped =
            ["Authorization", "Proxy-Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "Forwarded"];

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            foreach (var header in Dropped)
            {
                proxyRequest.Headers.Remove(header);
            }

            proxyRequest.Headers.Host = null;
            proxyRequest.RequestUri = target;
            proxyRequest.ForApp(app);
            if (installationId is { } id)
            {
                proxyRequest.ForInstallation(id);
                if (!scope.IsFull)
                {
                    proxyRequest.WithTokenScope(scope);
                }
            }

            if (actAsApp)
            {
                proxyRequest.AsApp();
            }
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var copied = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
            httpContext.Response.Headers.Remove("Set-Cookie");
            links.Rewrite(httpContext);
            return copied;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "Proxy {Method} {Path} as App {App} failed: {Error} ({Exception})")]
        public static partial void ProxyFailed(ILogger logger, string app, string method, string path, string error, string exception);
    }
}
