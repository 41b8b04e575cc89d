using System.Text.RegularExpressions;
using Hubgate.Authentication;
using Microsoft.Extensions.Primitives;

namespace Hubgate.Server.Proxy;

/// <summary>
/// Keeps callers on the proxy: in GitHub's answer, <c>Location</c> and every URL in <c>Link</c> that points at this
/// App's GitHub become the same request's proxy URL (<c>/proxy/installations/{id}/…</c> or <c>/proxy/app/…</c>, below
/// <c>/proxy/apps/{app}/</c> for a request that came that way), so
/// <c>gh api --paginate</c>, Octokit's pagination and clients that follow redirects keep going through Hubgate.
/// URLs elsewhere (codeload, object storage) pass unchanged.
/// </summary>
internal sealed partial class ProxyLinkRewriter(GitHubEndpoints endpoints, string root, long? installationId)
{
    public void Rewrite(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (headers.Location.Count > 0)
        {
            headers.Location = new StringValues([.. headers.Location.Select(value => RewriteUrl(context.Request, value))]);
        }

        if (headers.Link.Count > 0)
        {
            headers.Link = new StringValues([.. headers.Link.Select(value =>
                LinkTarget().Replace(value ?? string.Empty, match => "<" + RewriteUrl(context.Request, match.Groups[1].Value) + ">"))]);
        }
    }

    private string? RewriteUrl(HttpRequest request, string? value)
    {
        if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out var url) ||
            ProxyTargets.ToProxyPath(url, endpoints, root, installationId) is not { } path)
        {
            return value;
        }

        return request.Scheme + "://" + request.Host.ToUriComponent() + request.PathBase.ToUriComponent() + path;
    }

    [GeneratedRegex("<([^>]*)>", RegexOptions.CultureInvariant)]
    private static partial Regex LinkTarget();
}
