namespace Hubgate.Authentication;

/// <summary>
/// Where one GitHub host serves what, derived from <c>GitHub:ApiBaseUrl</c>: REST below the API base, GraphQL and
/// uploads beside it. github.com (and GHE.com, <c>api.SUBDOMAIN.ghe.com</c>): <c>https://api.github.com/graphql</c>
/// and <c>https://uploads.github.com/</c>. GitHub Enterprise Server (<c>https://HOST/api/v3/</c>):
/// <c>https://HOST/api/graphql</c> and <c>https://HOST/api/uploads/</c>. Any other base keeps both below itself.
/// These are the only places Hubgate sends the App's credentials.
/// </summary>
/// <param name="ApiBase">The REST API base, ending with '/'.</param>
/// <param name="GraphQL">The GraphQL endpoint (POST).</param>
/// <param name="UploadsBase">The base of upload URLs (release assets), ending with '/'.</param>
/// <param name="IsGitHubCloud">True for github.com and GHE.com (which accept the client id as JWT issuer), false for GHES and others.</param>
internal sealed record GitHubEndpoints(Uri ApiBase, Uri GraphQL, Uri UploadsBase, bool IsGitHubCloud)
{
    /// <summary>The endpoints of the host whose REST API lives at <paramref name="apiBase"/> (ending with '/').</summary>
    public static GitHubEndpoints For(Uri apiBase)
    {
        ArgumentNullException.ThrowIfNull(apiBase);
        var host = apiBase.IdnHost;
        var cloud = host.Equals("api.github.com", StringComparison.OrdinalIgnoreCase) ||
                    (host.StartsWith("api.", StringComparison.OrdinalIgnoreCase) && host.EndsWith(".ghe.com", StringComparison.OrdinalIgnoreCase));
        if (apiBase.AbsolutePath.EndsWith("/api/v3/", StringComparison.OrdinalIgnoreCase))
        {
            var root = new Uri(apiBase, "../"); // https://HOST/api/
            return new GitHubEndpoints(apiBase, new Uri(root, "graphql"), new Uri(root, "uploads/"), cloud);
        }

        var graphQL = new Uri(apiBase, "graphql");
        if (host.StartsWith("api.", StringComparison.OrdinalIgnoreCase) && apiBase.AbsolutePath == "/")
        {
            var uploads = new UriBuilder(apiBase) { Host = "uploads." + host["api.".Length..] }.Uri;
            return new GitHubEndpoints(apiBase, graphQL, uploads, cloud);
        }

        return new GitHubEndpoints(apiBase, graphQL, apiBase, cloud);
    }

    /// <summary>
    /// True when <paramref name="uri"/> is addressed to this GitHub (REST, GraphQL or uploads), with
    /// <paramref name="routePath"/> the path the route rules judge: below the API base or the uploads base, or
    /// <c>/graphql</c>.
    /// </summary>
    public bool TryGetRoutePath(Uri uri, out ReadOnlySpan<char> routePath)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (GitHubRoutes.TryGetRelativePath(uri, ApiBase, out routePath))
        {
            return true;
        }

        if (IsGraphQL(uri))
        {
            routePath = "/graphql";
            return true;
        }

        return GitHubRoutes.TryGetRelativePath(uri, UploadsBase, out routePath);
    }

    /// <summary>True when <paramref name="uri"/> may carry the App's credentials (see <see cref="TryGetRoutePath"/>).</summary>
    public bool Authorizes(Uri uri) => TryGetRoutePath(uri, out _);

    private bool IsGraphQL(Uri uri) =>
        uri.IsAbsoluteUri &&
        string.Equals(uri.Scheme, GraphQL.Scheme, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(uri.IdnHost, GraphQL.IdnHost, StringComparison.OrdinalIgnoreCase) &&
        uri.Port == GraphQL.Port &&
        string.Equals(uri.AbsolutePath.TrimEnd('/'), GraphQL.AbsolutePath, StringComparison.OrdinalIgnoreCase);
}
