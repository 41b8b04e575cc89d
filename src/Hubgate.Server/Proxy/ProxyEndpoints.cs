using System.Globalization;
using Hubgate.Server.Api;

namespace Hubgate.Server.Proxy;

internal static class ProxyEndpoints
{
    /// <summary>The authorizing proxy: YARP's forwarder and the client that carries the App's credentials.</summary>
    public static WebApplicationBuilder AddProxy(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpForwarder();
        builder.Services.AddSingleton<GitHubProxy>();
        return builder;
    }

    /// <summary>
    /// <c>/proxy/installations/{installationId}/{**path}</c> (installation token) and
    /// <c>/proxy/app/{**path}</c> (App JWT), any method, a client key required and its policy applied.
    /// </summary>
    public static IEndpointRouteBuilder MapProxy(this IEndpointRouteBuilder app)
    {
        var proxy = app.MapGroup("/proxy").RequireApiKey(admin: false).WithTags("Proxy");

        proxy.Map("/installations/{installationId:long}/{**path}", (HttpContext context, long installationId, string? path, GitHubProxy forwarder) =>
        {
            // The prefix as matched ("01" routes as installation 1 and must be cut as "01").
            var segment = Convert.ToString(context.Request.RouteValues["installationId"], CultureInfo.InvariantCulture);
            return forwarder.ForwardAsync(context, new ProxyRoute($"/proxy/installations/{segment}/", path, installationId));
        });

        proxy.Map("/app/{**path}", (HttpContext context, string? path, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, new ProxyRoute("/proxy/app/", path, InstallationId: null)));

        return app;
    }
}

/// <summary>What the router matched: the literal prefix, the rest of the path (decoded) and the installation, if any.</summary>
internal sealed record ProxyRoute(string Prefix, string? Path, long? InstallationId);
