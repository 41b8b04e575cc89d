using Hubgate.Server.Api;
using Microsoft.AspNetCore.Http.Features;

namespace Hubgate.Server.Proxy;

internal static class ProxyEndpoints
{
    private const string InstallationPrefix = "/proxy/installations/";
    private const string AppPrefix = "/proxy/app";

    /// <summary>The authorizing proxy: YARP's forwarder and the client that carries the App's credentials.</summary>
    public static WebApplicationBuilder AddProxy(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<GitHubProxy>();
        return builder;
    }

    /// <summary>
    /// <c>/proxy/installations/{installationId}/{**path}</c> (installation token; App JWT on app routes) and
    /// <c>/proxy/app/{**path}</c> (App JWT), any method, API key required.
    /// </summary>
    public static IEndpointRouteBuilder MapProxy(this IEndpointRouteBuilder app)
    {
        var proxy = app.MapGroup("/proxy").RequireApiKey().WithTags("Proxy");

        proxy.Map("/installations/{installationId:long}/{**path}", (HttpContext context, long installationId, GitHubProxy forwarder) =>
        {
            var raw = RawTail(context, InstallationPrefix);
            var slash = raw.IndexOf('/', StringComparison.Ordinal);
            var tail = slash >= 0 ? raw[(slash + 1)..] : string.Empty;
            return forwarder.ForwardAsync(context, installationId, tail);
        });

        proxy.Map("/app/{**path}", (HttpContext context, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, installationId: null, "app" + RawTail(context, AppPrefix)));

        return app;
    }

    /// <summary>The request target after <paramref name="prefix"/>, still percent-encoded, query included.</summary>
    private static string RawTail(HttpContext context, string prefix)
    {
        // Kestrel keeps the target as sent; hosts that do not (TestServer, some IIS set-ups) leave it empty, and
        // the path is re-encoded from its parsed form instead (ASP.NET Core never decodes %2F in the path).
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            raw = context.Request.PathBase.Add(context.Request.Path).ToUriComponent() + context.Request.QueryString.ToUriComponent();
        }

        var start = raw.IndexOf(prefix, StringComparison.OrdinalIgnoreCase);
        return start >= 0 ? raw[(start + prefix.Length)..] : string.Empty;
    }
}
