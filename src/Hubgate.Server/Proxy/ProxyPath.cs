using System.Text;
using Hubgate.Authentication;
using Microsoft.AspNetCore.Http.Features;

namespace Hubgate.Server.Proxy;

/// <summary>
/// Turns what the router matched into the GitHub API URL that is forwarded, refusing anything where the two could
/// differ or that would leave the API base.
/// </summary>
internal static class ProxyPath
{
    /// <summary>
    /// The tail to forward (path and query, still percent-encoded), cut from the request target at the end of
    /// <paramref name="routedPrefix"/> — the literal part the router matched, e.g. <c>/proxy/installations/1/</c>.
    /// The target's path is compared after decoding only unreserved characters (<c>%69</c> is <c>i</c>, <c>%2F</c> stays
    /// encoded); a target that does not start with the prefix is refused. The query is never searched for the prefix.
    /// </summary>
    public static bool TryGetTail(HttpContext context, string routedPrefix, out string tail, out string? problem)
    {
        tail = string.Empty;
        problem = null;
        var target = RequestTarget(context);
        var queryStart = target.IndexOf('?', StringComparison.Ordinal);
        var rawPath = queryStart >= 0 ? target[..queryStart] : target;
        var query = queryStart >= 0 ? target[queryStart..] : string.Empty;
        var path = DecodeUnreserved(rawPath);
        var prefix = context.Request.PathBase.Value + routedPrefix;

        // The router matches literals case-insensitively; "/proxy/app" alone is the App route with an empty path.
        if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            tail = path[prefix.Length..] + query;
        }
        else if (path.Equals(prefix.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            tail = query;
        }
        else
        {
            problem = $"the request target must start with {routedPrefix} (only unreserved characters may be percent-encoded in it)";
            return false;
        }

        return true;
    }

    /// <summary>
    /// True when the decoded path of <paramref name="tail"/> is exactly <paramref name="routedPath"/>: what is sent is
    /// what was routed, authorized and logged. Call after <see cref="TryResolve"/>, which refuses encoded slashes.
    /// </summary>
    public static bool MatchesRoutedPath(string tail, string? routedPath)
    {
        var queryStart = tail.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart >= 0 ? tail[..queryStart] : tail;
        return Uri.UnescapeDataString(path).Equals(routedPath ?? string.Empty, StringComparison.Ordinal);
    }

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

    /// <summary>The request target as the caller sent it (path and query, percent-encoded).</summary>
    private static string RequestTarget(HttpContext context)
    {
        // Kestrel keeps the target as sent; hosts that do not (TestServer, some IIS set-ups) leave it empty, and
        // the path is re-encoded from its parsed form instead (ASP.NET Core never decodes %2F in the path).
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || !raw.StartsWith('/'))
        {
            raw = context.Request.PathBase.Add(context.Request.Path).ToUriComponent() + context.Request.QueryString.ToUriComponent();
        }

        return raw;
    }

    /// <summary>
    /// Decodes percent-encoded unreserved characters (RFC 3986: letters, digits, <c>-._~</c>), which mean the same
    /// encoded or not; every other escape is kept as sent.
    /// </summary>
    internal static string DecodeUnreserved(string rawPath)
    {
        if (!rawPath.Contains('%', StringComparison.Ordinal))
        {
            return rawPath;
        }

        var result = new StringBuilder(rawPath.Length);
        for (var i = 0; i < rawPath.Length; i++)
        {
            if (rawPath[i] == '%' && i + 2 < rawPath.Length &&
                byte.TryParse(rawPath.AsSpan(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var value) &&
                (char.IsAsciiLetterOrDigit((char)value) || value is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~'))
            {
                result.Append((char)value);
                i += 2;
            }
            else
            {
                result.Append(rawPath[i]);
            }
        }

        return result.ToString();
    }
}
