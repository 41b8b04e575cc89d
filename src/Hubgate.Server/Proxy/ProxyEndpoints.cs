using System.Globalization;
using Hubgate.Apps;
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
    /// <c>/proxy/installations/{installationId}/{**path}</c> (installation token) and <c>/proxy/app/{**path}</c> (App
    /// JWT) as the App <c>default</c>; <c>/proxy/apps/{app}/installations/{installationId}/{**path}</c> and
    /// <c>/proxy/apps/{app}/app/{**path}</c> as the App named. Any method, a client key required and its policy applied.
    /// </summary>
    public static IEndpointRouteBuilder MapProxy(this IEndpointRouteBuilder app)
    {
        var proxy = app.MapGroup("/proxy").RequireApiKey(admin: false).WithTags("Proxy");

        proxy.Map("/installations/{installationId:long}/{**path}", (HttpContext context, long installationId, string? path, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, new ProxyRoute(GitHubApp.DefaultName, "/proxy/", $"installations/{Matched(context)}/", path, installationId)));

        proxy.Map("/app/{**path}", (HttpContext context, string? path, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, new ProxyRoute(GitHubApp.DefaultName, "/proxy/", "app/", path, InstallationId: null)));

        // The App's name is cut from the request target as the router matched it, like the installation id.
        proxy.Map("/apps/{app}/installations/{installationId:long}/{**path}", (HttpContext context, string app, long installationId, string? path, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, new ProxyRoute(app, $"/proxy/apps/{app}/", $"installations/{Matched(context)}/", path, installationId)));

        proxy.Map("/apps/{app}/app/{**path}", (HttpContext context, string app, string? path, GitHubProxy forwarder) =>
            forwarder.ForwardAsync(context, new ProxyRoute(app, $"/proxy/apps/{app}/", "app/", path, InstallationId: null)));

        return app;
    }

    /// <summary>The installation id as matched ("01" routes as installation 1 and must be cut as "01").</summary>
    private static string? Matched(HttpContext context) => Convert.ToString(context.Request.RouteValues["installationId"], CultureInfo.InvariantCulture);
}

/// <summary>
/// What the router matched: the App (<c>default</c> on today's routes), the App's proxy root (<c>/proxy/</c> or
/// <c>/proxy/apps/{app}/</c>), the route below it (<c>installations/{id}/</c> or <c>app/</c>), the rest of the path
/// (decoded) and the installation, if any.
/// </summary>
internal sealed record ProxyRoute(string App, string Root, string Route, string? Path, long? InstallationId)
{
    /// <summary>The literal prefix the router matched, e.g. <c>/proxy/apps/ghes/installations/1/</c>.</summary>
    public string Prefix => Root + Route;
}
