using System.Diagnostics;
using System.Net;
using Hubgate.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Hubgate.Server.Proxy;

/// <summary>
/// Forwards a caller's request to GitHub with the App's credentials (YARP's forwarder): any method, bodies
/// streamed both ways, GitHub's status and headers (rate limits included) passed back. The caller's own
/// <c>Authorization</c> and cookies never reach GitHub.
/// </summary>
internal sealed partial class GitHubProxy : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly GitHubAppOptions _options;
    private readonly ILogger<GitHubProxy> _logger;

    public GitHubProxy(IHttpForwarder forwarder, IServiceProvider services, IOptions<GitHubAppOptions> options, ILogger<GitHubProxy> logger)
    {
        _forwarder = forwarder;
        _options = options.Value;
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

    /// <summary>Forwards the request; <paramref name="rawTail"/> is the still-encoded part after the proxy prefix.</summary>
    public async Task ForwardAsync(HttpContext context, long? installationId, string rawTail)
    {
        var missing = _options.MissingCredentialKeys();
        if (missing.Count > 0)
        {
            await Problem(context, StatusCodes.Status503ServiceUnavailable,
                $"The proxy needs the GitHub App's credentials: set {string.Join(" and ", missing)}.");
            return;
        }

        if (!ProxyPath.TryResolve(rawTail, _options.NormalizedApiBaseUrl, out var target, out var problem))
        {
            await Problem(context, StatusCodes.Status400BadRequest, $"Refused proxy path: {problem}.");
            return;
        }

        var transformer = new Transformer(target, installationId);
        var error = await _forwarder.SendAsync(context, _options.NormalizedApiBaseUrl.AbsoluteUri, _invoker, ForwarderRequestConfig.Empty, transformer);
        if (error == ForwarderError.None)
        {
            return;
        }

        var exception = context.GetForwarderErrorFeature()?.Exception;
        var (status, message) = Describe(exception);
        Log.ProxyFailed(_logger, context.Request.Method, target.AbsolutePath, error.ToString(), exception?.GetType().Name ?? "none");
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await Problem(context, status, message);
        }
    }

    public void Dispose() => _invoker.Dispose();

    private static (int Status, string Message) Describe(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case GitHubAppNotConfiguredException or AppPrivateKeyException:
                    return (StatusCodes.Status503ServiceUnavailable, e.Message);
                case InstallationNotFoundException:
                    return (StatusCodes.Status404NotFound, e.Message);
                case InstallationSuspendedException:
                    return (StatusCodes.Status403Forbidden, e.Message);
                case GitHubRateLimitException:
                    return (StatusCodes.Status429TooManyRequests, e.Message);
                case GitHubApiException:
                    return (StatusCodes.Status502BadGateway, e.Message);
                case InvalidOperationException when e.Message.StartsWith("Refusing", StringComparison.Ordinal):
                    return (StatusCodes.Status400BadRequest, e.Message);
            }
        }

        return (StatusCodes.Status502BadGateway, "GitHub could not be reached.");
    }

    private static Task Problem(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = message });
    }

    private sealed class Transformer(Uri target, long? installationId) : HttpTransformer
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
            if (installationId is { } id)
            {
                proxyRequest.ForInstallation(id);
            }
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            httpContext.Response.Headers.Remove("Set-Cookie");
            return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "Proxy {Method} {Path} failed: {Error} ({Exception})")]
        public static partial void ProxyFailed(ILogger logger, string method, string path, string error, string exception);
    }
}
