namespace Hubgate.Authentication;

/// <summary>
/// Which GitHub API requests are made as the App (JWT) rather than as an installation (token).
/// Matching is by whole path segments relative to <c>GitHub:ApiBaseUrl</c>, never by substring:
/// a repository named <c>access_tokens</c> or an owner named <c>app</c> gets an installation token.
/// </summary>
internal static class GitHubRoutes
{
    /// <summary>
    /// True for <c>/app</c>, <c>/app/…</c>, <c>/marketplace_listing/…</c>, <c>/orgs/{org}/installation</c>,
    /// <c>/repos/{owner}/{repo}/installation</c>, <c>/users/{user}/installation</c> and
    /// <c>/enterprises/{enterprise}/installation</c>.
    /// </summary>
    /// <param name="relativePath">The path below the API base, with or without a leading slash or query.</param>
    public static bool RequiresAppJwt(ReadOnlySpan<char> relativePath)
    {
        var query = relativePath.IndexOfAny('?', '#');
        if (query >= 0)
        {
            relativePath = relativePath[..query];
        }

        relativePath = relativePath.Trim('/');
        Span<Range> parts = stackalloc Range[6];
        var count = relativePath.Split(parts, '/');
        if (count == 0)
        {
            return false;
        }

        var first = relativePath[parts[0]];
        if (first.Equals("app", StringComparison.OrdinalIgnoreCase) ||
            first.Equals("marketplace_listing", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // An empty segment ("orgs//installation") names nothing; GitHub would not route it either.
        for (var i = 0; i < count; i++)
        {
            if (relativePath[parts[i]].IsEmpty)
            {
                return false;
            }
        }

        if (count == 3 && relativePath[parts[2]].Equals("installation", StringComparison.OrdinalIgnoreCase))
        {
            return first.Equals("orgs", StringComparison.OrdinalIgnoreCase) ||
                   first.Equals("users", StringComparison.OrdinalIgnoreCase) ||
                   first.Equals("enterprises", StringComparison.OrdinalIgnoreCase);
        }

        return count == 4 &&
               first.Equals("repos", StringComparison.OrdinalIgnoreCase) &&
               relativePath[parts[3]].Equals("installation", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The path of <paramref name="requestUri"/> below <paramref name="apiBaseUrl"/>, or false when the request
    /// is not addressed to the API (another scheme, host, port, or a path outside the base).
    /// </summary>
    public static bool TryGetRelativePath(Uri requestUri, Uri apiBaseUrl, out ReadOnlySpan<char> relativePath)
    {
        ArgumentNullException.ThrowIfNull(requestUri);
        ArgumentNullException.ThrowIfNull(apiBaseUrl);
        relativePath = default;
        if (!requestUri.IsAbsoluteUri ||
            !string.Equals(requestUri.Scheme, apiBaseUrl.Scheme, StringComparison.OrdinalIgnoreCase) ||
            !string.Equals(requestUri.IdnHost, apiBaseUrl.IdnHost, StringComparison.OrdinalIgnoreCase) ||
            requestUri.Port != apiBaseUrl.Port)
        {
            return false;
        }

        var path = requestUri.AbsolutePath.AsSpan();
        var basePath = apiBaseUrl.AbsolutePath.AsSpan().TrimEnd('/');
        if (!path.StartsWith(basePath, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        path = path[basePath.Length..];
        if (path.Length > 0 && path[0] != '/')
        {
            return false; // "/api/v3x/..." is not below "/api/v3"
        }

        relativePath = path;
        return true;
    }
}
