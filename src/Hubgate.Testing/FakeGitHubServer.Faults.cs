using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>What the fake answers instead, on a route <see cref="FakeGitHubServer.FailNext"/> named.</summary>
public enum FakeFailure
{
    /// <summary>500 with GitHub's <c>Server Error</c> body.</summary>
    InternalServerError,

    /// <summary>502, as GitHub's edge answers when a backend does not.</summary>
    BadGateway,

    /// <summary>503.</summary>
    ServiceUnavailable,

    /// <summary>401 <c>Bad credentials</c>, whatever credential the request carried (a revoked token, a key rotated).</summary>
    BadCredentials,

    /// <summary>
    /// 403 <c>API rate limit exceeded</c> with <c>X-RateLimit-Remaining: 0</c> and <c>X-RateLimit-Reset</c> one minute
    /// ahead on the fake's clock: the primary limit of the request's credential is spent.
    /// </summary>
    RateLimited,

    /// <summary>403 with GitHub's secondary rate limit message and <c>Retry-After: 60</c>.</summary>
    SecondaryRateLimited,
}

/// <summary>
/// Faults on chosen routes: the next N matching requests are answered with a failure instead of their real answer
/// (they are still authenticated first and recorded with the status they got), then the route behaves again.
/// </summary>
public sealed partial class FakeGitHubServer
{
    private readonly List<PlannedFailure> _failures = [];

    /// <summary>
    /// The next <paramref name="times"/> requests matching <paramref name="method"/> and <paramref name="path"/> get
    /// <paramref name="failure"/>. Faults added earlier for the same requests are used up first.
    /// </summary>
    /// <param name="method">An HTTP method (<c>GET</c>, <c>POST</c>, …), or null for any.</param>
    /// <param name="path">
    /// A path below the API root, segment by segment: <c>*</c> matches one segment, a final <c>**</c> the rest, e.g.
    /// <c>/repos/acme/*/compare/*</c> or <c>/app/installations/**</c>.
    /// </param>
    /// <param name="failure">What to answer.</param>
    /// <param name="times">How many requests fail (at least 1).</param>
    public void FailNext(string? method, string path, FakeFailure failure, int times = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        lock (_lock)
        {
            _failures.Add(new PlannedFailure(method, path.Trim('/').Split('/'), failure) { Left = times });
        }
    }

    /// <summary>The failure planned for this request, used up; null when none matches.</summary>
    private Answer? PlannedAnswer(HttpContext context, string[] segments, Caller caller, DateTimeOffset now)
    {
        FakeFailure failure;
        lock (_lock)
        {
            var planned = _failures.Find(f => f.Matches(context.Request.Method, segments));
            if (planned is null)
            {
                return null;
            }

            failure = planned.Failure;
            if (--planned.Left == 0)
            {
                _failures.Remove(planned);
            }
        }

        switch (failure)
        {
            case FakeFailure.BadCredentials:
                return Error(401, "Bad credentials");
            case FakeFailure.RateLimited:
                SetRateLimitHeaders(context, new RateLimit(5000, 0, now.AddMinutes(1)), ResourceOf(segments));
                return Error(403, caller.InstallationId is { } id
                    ? $"API rate limit exceeded for installation ID {id.ToString(CultureInfo.InvariantCulture)}."
                    : "API rate limit exceeded for the app.");
            case FakeFailure.SecondaryRateLimited:
                var answer = SecondaryAnswer(context, FakeSecondaryLimit.Forbidden, TimeSpan.Zero);
                answer.Headers["Retry-After"] = "60";
                return answer;
            default:
                return Error(failure switch
                {
                    FakeFailure.BadGateway => 502,
                    FakeFailure.ServiceUnavailable => 503,
                    _ => 500,
                }, "Server Error");
        }
    }

    private sealed class PlannedFailure(string? method, string[] pattern, FakeFailure failure)
    {
        public FakeFailure Failure { get; } = failure;

        public int Left { get; set; }

        public bool Matches(string requestMethod, string[] segments)
        {
            if (method is not null && !method.Equals(requestMethod, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            for (var i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] == "**" && i == pattern.Length - 1)
                {
                    return segments.Length >= i;
                }

                if (i >= segments.Length || (pattern[i] != "*" && !pattern[i].Equals(segments[i], StringComparison.Ordinal)))
                {
                    return false;
                }
            }

            return segments.Length == pattern.Length;
        }
    }
}
