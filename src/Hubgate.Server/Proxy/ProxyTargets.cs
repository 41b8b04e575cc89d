using Hubgate.Authentication;

namespace Hubgate.Server.Proxy;

/// <summary>
/// How proxy paths and GitHub's URLs correspond, both ways, beyond the REST API base: <c>…/graphql</c> is the host's
/// GraphQL endpoint (<c>https://HOST/api/graphql</c> on GitHub Enterprise Server), <c>…/uploads/…</c> its uploads
/// endpoint; <c>/proxy/app/graphql</c> queries GraphQL as the App.
/// </summary>
internal static class ProxyTargets
{
    private const string GraphQL = "graphql";
    private const string Uploads = "uploads/";
    private const string App = "app/";

    /// <summary>
    /// The GitHub URL a proxy request goes to, given <paramref name="resolved"/> (the API base + the routed path);
    /// <paramref name="actAsApp"/> is true for GraphQL through <c>/proxy/app</c>.
    /// </summary>
    public static Uri Map(Uri resolved, GitHubEndpoints endpoints, bool forApp, out bool actAsApp)
    {
        actAsApp = false;
        if (!GitHubRoutes.TryGetRelativePath(resolved, endpoints.ApiBase, out var below))
        {
            return resolved;
        }

        var path = below.TrimStart('/');
        if (path.Equals(GraphQL, StringComparison.Ordinal))
        {
            actAsApp = forApp;
            return new Uri(endpoints.GraphQL.GetLeftPart(UriPartial.Path) + resolved.Query);
        }

        return !forApp && path.StartsWith(Uploads, StringComparison.Ordinal)
            ? new Uri(endpoints.UploadsBase, path[Uploads.Length..].ToString() + resolved.Query)
            : resolved;
    }

    /// <summary>
    /// The proxy path (from <paramref name="root"/>, query included) that reaches <paramref name="gitHubUrl"/> the way the
    /// current request does, or null when the URL is not this GitHub's or the proxy has no route for it.
    /// </summary>
    /// <param name="gitHubUrl">A URL in GitHub's answer.</param>
    /// <param name="endpoints">The App's host.</param>
    /// <param name="root">The App's proxy root the request came through: <c>/proxy/</c> or <c>/proxy/apps/{app}/</c>.</param>
    /// <param name="installationId">The installation of the request; null on the App route.</param>
    public static string? ToProxyPath(Uri gitHubUrl, GitHubEndpoints endpoints, string root, long? installationId)
    {
        string path;
        if (GitHubRoutes.TryGetRelativePath(gitHubUrl, endpoints.ApiBase, out var below))
        {
            path = below.TrimStart('/').ToString();
        }
        else if (endpoints.Authorizes(gitHubUrl) && GitHubRoutes.TryGetRelativePath(gitHubUrl, endpoints.UploadsBase, out var upload))
        {
            path = Uploads + upload.TrimStart('/').ToString();
        }
        else if (endpoints.Authorizes(gitHubUrl))
        {
            path = GraphQL;
        }
        else
        {
            return null;
        }

        if (installationId is { } id)
        {
            return $"{root}installations/{id.ToString(System.Globalization.CultureInfo.InvariantCulture)}/{path}{gitHubUrl.Query}";
        }

        // /proxy/app/X is the API base + X, for the routes GitHub serves to the App and GraphQL as the App.
        return ReachableAsApp(path) ? $"{root}{App}{path}{gitHubUrl.Query}" : null;
    }

    /// <summary>Whether <c>/proxy/app/{path}</c> forwards: a route GitHub serves to the App, or GraphQL as the App.</summary>
    public static bool ReachableAsApp(ReadOnlySpan<char> path) =>
        path.Equals(GraphQL, StringComparison.Ordinal) || GitHubRoutes.RequiresAppJwt(path);
}
