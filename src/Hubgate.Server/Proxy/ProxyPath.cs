using Hubgate.Authentication;

namespace Hubgate.Server.Proxy;

/// <summary>Turns the raw tail of a proxy URL into a GitHub API URL, refusing anything that would leave the API base.</summary>
internal static class ProxyPath
{
    /// <summary>
    /// Resolves <paramref name="rawTail"/> (path and query exactly as the caller sent them, still percent-encoded)
    /// below <paramref name="apiBaseUrl"/>. Dot segments, encoded slashes, dots or backslashes, empty segments,
    /// a scheme in the first segment and control characters are refused rather than normalised. A colon later in
    /// the path is GitHub's own syntax (<c>compare/main...fork:branch</c>).
    /// </summary>
    public static bool TryResolve(string rawTail, Uri apiBaseUrl, out Uri target, out string? problem)
    {
        target = apiBaseUrl;
        problem = null;
        var queryStart = rawTail.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart >= 0 ? rawTail[..queryStart] : rawTail;

        if (path.Contains("//", StringComparison.Ordinal) || path.StartsWith('/') ||
            path.Contains('\\', StringComparison.Ordinal) || path.Split('/')[0].Contains(':', StringComparison.Ordinal) ||
            rawTail.Contains('#', StringComparison.Ordinal) ||
            rawTail.Any(char.IsControl))
        {
            problem = "the path must be a plain path below the GitHub API base";
            return false;
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or "..")
            {
                problem = "dot segments are not allowed";
                return false;
            }
        }

        if (path.Contains("%2e", StringComparison.OrdinalIgnoreCase) || path.Contains("%2f", StringComparison.OrdinalIgnoreCase) ||
            path.Contains("%5c", StringComparison.OrdinalIgnoreCase) || path.Contains("%25", StringComparison.OrdinalIgnoreCase) ||
            path.Contains("%00", StringComparison.OrdinalIgnoreCase))
        {
            problem = "encoded dots, slashes, backslashes or percent signs are not allowed in the path";
            return false;
        }

        if (!Uri.TryCreate(apiBaseUrl, rawTail, out var resolved) ||
            !GitHubRoutes.TryGetRelativePath(resolved, apiBaseUrl, out _))
        {
            problem = "the path leaves the GitHub API base";
            return false;
        }

        target = resolved;
        return true;
    }
}
