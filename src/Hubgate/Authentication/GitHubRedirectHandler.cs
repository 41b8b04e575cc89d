using System.Net;
using Microsoft.Extensions.Logging;

namespace Hubgate.Authentication;

/// <summary>
/// Follows GitHub's redirects for the authorizing clients, whose primary handler does not (.NET drops
/// <c>Authorization</c> on every hop, so a renamed private repository would end in 404). A hop that stays on this
/// GitHub (<see cref="GitHubEndpoints.Authorizes"/>: <c>/repos/old/name</c> → <c>/repositories/{id}</c>) carries the
/// request's own credentials — the same installation's token or the App's JWT —; a hop anywhere else (codeload,
/// object storage) carries none. At most <see cref="MaxHops"/> hops; 303 becomes GET, so do 301/302 for POST (as
/// RFC 9110 allows and .NET does); 307/308 keep the method and body; an https → http hop is not followed.
/// </summary>
internal sealed partial class GitHubRedirectHandler(Func<HttpRequestMessage, GitHubEndpoints> endpointsOf, ILogger<GitHubRedirectHandler> logger) : DelegatingHandler
{
    /// <summary>Hops followed before the last redirect is handed back as it is.</summary>
    internal const int MaxHops = 10;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var sent = base.SendAsync(request, cancellationToken);
        return sent.IsCompletedSuccessfully && !IsRedirect(sent.Result.StatusCode) ? sent : FollowAsync(request, sent, cancellationToken);
    }

    private async Task<HttpResponseMessage> FollowAsync(HttpRequestMessage original, Task<HttpResponseMessage> sent, CancellationToken cancellationToken)
    {
        var response = await sent.ConfigureAwait(false);
        var current = original;
        for (var hop = 1; IsRedirect(response.StatusCode) && response.Headers.Location is { } location; hop++)
        {
            var from = current.RequestUri!;
            var target = location.IsAbsoluteUri ? location : new Uri(from, location);
            if (hop > MaxHops)
            {
                Log.TooManyRedirects(logger, MaxHops, from.Host);
                return response;
            }

            if (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp ||
                (from.Scheme == Uri.UriSchemeHttps && target.Scheme == Uri.UriSchemeHttp))
            {
                Log.RedirectRefused(logger, target.Scheme, target.Host);
                return response;
            }

            var next = NextRequest(original, current, response.StatusCode, target);
            if (next is null)
            {
                return response; // 307/308 with a body that cannot be sent twice: the caller sees the redirect
            }

            Log.Redirected(logger, (int)response.StatusCode, target.Host, target.AbsolutePath, next.Headers.Authorization is not null);
            response.Dispose();
            current = next;
            response = await base.SendAsync(current, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    private HttpRequestMessage? NextRequest(HttpRequestMessage original, HttpRequestMessage current, HttpStatusCode status, Uri target)
    {
        var method = current.Method;
        var content = current.Content;
        if ((status == HttpStatusCode.SeeOther && method != HttpMethod.Head) ||
            (status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.MultipleChoices && method == HttpMethod.Post))
        {
            method = HttpMethod.Get;
            content = null;
        }
        else if (!GitHubAppAuthenticationHandler.CanResend(current))
        {
            return null;
        }

        var next = new HttpRequestMessage(method, target)
        {
            Content = content,
            Version = current.Version,
            VersionPolicy = current.VersionPolicy,
        };
        foreach (var (name, values) in current.Headers.NonValidated)
        {
            if (!name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && !name.Equals("Host", StringComparison.OrdinalIgnoreCase) &&
                !name.Equals("Cookie", StringComparison.OrdinalIgnoreCase))
            {
                next.Headers.TryAddWithoutValidation(name, values);
            }
        }

        if (content is null)
        {
            next.Headers.TransferEncodingChunked = null;
        }

        // Credentials come from the request as the caller's handlers authorized it, and only ever go to this GitHub.
        if (endpointsOf(original).Authorizes(target) && original.Headers.NonValidated.TryGetValues("Authorization", out var authorization))
        {
            next.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var (key, value) in current.Options)
        {
            ((IDictionary<string, object?>)next.Options)[key] = value;
        }

        return next;
    }

    private static bool IsRedirect(HttpStatusCode status) => status is HttpStatusCode.MultipleChoices or HttpStatusCode.MovedPermanently
        or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    /// <summary>Turns off the primary handler's own redirects, so that this handler sees every 3xx.</summary>
    internal static void DisableAutomaticRedirects(HttpMessageHandler primary)
    {
        switch (primary)
        {
            case SocketsHttpHandler sockets:
                sockets.AllowAutoRedirect = false;
                break;
            case HttpClientHandler client:
                client.AllowAutoRedirect = false;
                break;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Debug, Message = "GitHub redirected ({Status}) to {Host}{Path}; credentials sent: {WithCredentials}")]
        public static partial void Redirected(ILogger logger, int status, string host, string path, bool withCredentials);

        [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Stopped following GitHub's redirects after {Hops} hops (from {Host})")]
        public static partial void TooManyRedirects(ILogger logger, int hops, string host);

        [LoggerMessage(EventId = 322, Level = LogLevel.Warning, Message = "Not following a redirect to {Scheme}://{Host}: only https, or http from http")]
        public static partial void RedirectRefused(ILogger logger, string scheme, string host);
    }
}
