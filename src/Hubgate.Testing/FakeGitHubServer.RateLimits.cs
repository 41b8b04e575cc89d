using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Hubgate.Testing;

/// <summary>
/// Rate limits as GitHub applies them: a primary bucket per credential and resource (<c>core</c>, <c>search</c>,
/// <c>code_search</c>, <c>graphql</c>), named in <c>X-RateLimit-Resource</c>; secondary limits as a window during
/// which every request of the credential is refused (403 with GitHub's message and no <c>Retry-After</c>, or 429);
/// and GraphQL's own answer to an empty bucket: 200 with <c>errors[].type = RATE_LIMITED</c>.
/// </summary>
public sealed partial class FakeGitHubServer
{
    /// <summary>GitHub's documented message for a secondary rate limit.</summary>
    internal const string SecondaryRateLimitMessage =
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
        "If you reach out to GitHub Support for help, please include the request ID ";

    private readonly Dictionary<(long Key, string Resource), RateLimit> _resourceLimits = [];
    private readonly Dictionary<long, (DateTimeOffset Until, FakeSecondaryLimit Style)> _secondaryBlocks = [];
    private int _requestsWhileBlocked;

    /// <summary>Requests that arrived while their credential was under a secondary limit (each would prolong a real block).</summary>
    internal int RequestsWhileSecondaryLimited => Volatile.Read(ref _requestsWhileBlocked);

    /// <summary>Sets the primary limit of a resource (<c>core</c>, <c>search</c>, <c>code_search</c>, <c>graphql</c>) for an installation (0: the App).</summary>
    internal void SetRateLimit(long installationId, string resource, int limit, int remaining, DateTimeOffset reset)
    {
        if (resource == "core")
        {
            SetRateLimit(installationId, limit, remaining, reset);
            return;
        }

        lock (_lock)
        {
            _resourceLimits[(installationId, resource)] = new RateLimit(limit, remaining, reset);
        }
    }

    /// <summary>
    /// Every request of the installation (0: the App) is refused with a secondary limit until
    /// <paramref name="duration"/> has passed on the fake's clock.
    /// </summary>
    internal void BlockSecondary(long installationId, TimeSpan duration, FakeSecondaryLimit style = FakeSecondaryLimit.Forbidden)
    {
        lock (_lock)
        {
            _secondaryBlocks[installationId] = (Clock.UtcNow + duration, style);
        }
    }

    /// <summary>The resource a request counts against, as GitHub reports it in <c>X-RateLimit-Resource</c>.</summary>
    private static string ResourceOf(string[] segments) => segments switch
    {
        ["search", "code", ..] => "code_search",
        ["search", ..] => "search",
        ["graphql"] => "graphql",
        _ => "core",
    };

    private static RateLimit NewWindow(string resource, DateTimeOffset now) => resource switch
    {
        "search" => new RateLimit(30, 30, now.AddMinutes(1)),
        "code_search" => new RateLimit(10, 10, now.AddMinutes(1)),
        _ => new RateLimit(5000, 5000, now.AddHours(1)),
    };

    private Answer? Limit(HttpContext context, long key, DateTimeOffset now, string resource = "core")
    {
        lock (_lock)
        {
            var limit = Bucket(key, resource, now);
            if (_secondaryBlocks.TryGetValue(key, out var block) && now < block.Until)
            {
                _requestsWhileBlocked++;
                SetRateLimitHeaders(context, limit, resource);
                return SecondaryAnswer(context, block.Style, block.Until - now);
            }

            if (limit.Remaining > 0)
            {
                limit.Remaining--;
                SetRateLimitHeaders(context, limit, resource);
                return null;
            }

            SetRateLimitHeaders(context, limit, resource);
            var message = key == 0 ? "API rate limit exceeded for the app." : $"API rate limit exceeded for installation ID {key}.";
            return resource == "graphql"
                ? new Answer(200, Json(new { errors = new[] { new { type = "RATE_LIMITED", code = "graphql_rate_limit", message } } }))
                : Error(403, message);
        }
    }

    private RateLimit Bucket(long key, string resource, DateTimeOffset now)
    {
        if (resource == "core")
        {
            if (!_rateLimits.TryGetValue(key, out var core) || now >= core.Reset)
            {
                core = _rateLimits[key] = NewWindow(resource, now);
            }

            return core;
        }

        if (!_resourceLimits.TryGetValue((key, resource), out var limit) || now >= limit.Reset)
        {
            limit = _resourceLimits[(key, resource)] = NewWindow(resource, now);
        }

        return limit;
    }

    private static Answer SecondaryAnswer(HttpContext context, FakeSecondaryLimit style, TimeSpan left)
    {
        var requestId = context.Response.Headers["X-GitHub-Request-Id"].ToString();
        var message = SecondaryRateLimitMessage + requestId + ".";
        if (style == FakeSecondaryLimit.Forbidden)
        {
            return Error(403, message);
        }

        var answer = Error(429, message);
        if (style == FakeSecondaryLimit.TooManyRequestsWithRetryAfter)
        {
            answer.Headers["Retry-After"] = ((long)Math.Ceiling(left.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return answer;
    }

    private static void SetRateLimitHeaders(HttpContext context, RateLimit limit, string resource)
    {
        var h = context.Response.Headers;
        h["X-RateLimit-Limit"] = limit.Limit.ToString(CultureInfo.InvariantCulture);
        h["X-RateLimit-Remaining"] = limit.Remaining.ToString(CultureInfo.InvariantCulture);
        h["X-RateLimit-Reset"] = limit.Reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        h["X-RateLimit-Used"] = (limit.Limit - limit.Remaining).ToString(CultureInfo.InvariantCulture);
        h["X-RateLimit-Resource"] = resource;
    }

    /// <summary>Search, counted against its own resources; null for any other route (GraphQL lives beside the REST API).</summary>
    private Answer? RouteSearch(HttpContext context, string[] s, FakeInstallation installation)
    {
        var method = context.Request.Method;
        return (s, method) switch
        {
            (["search", "repositories"], "GET") => SearchRepositories(context, installation),
            (["search", "code"], "GET") => string.IsNullOrWhiteSpace(context.Request.Query["q"])
                ? ValidationFailed("Search", "q")
                : Ok(new { total_count = 0, incomplete_results = false, items = Array.Empty<object>() }),
            _ => null,
        };
    }

    private Answer SearchRepositories(HttpContext context, FakeInstallation installation)
    {
        var q = context.Request.Query["q"].ToString();
        if (string.IsNullOrWhiteSpace(q))
        {
            return ValidationFailed("Search", "q");
        }

        var items = Snapshot(installation).Where(r => r.FullName.Contains(q, StringComparison.OrdinalIgnoreCase)).Select(RepositoryJson).ToList();
        return Ok(new { total_count = items.Count, incomplete_results = false, items });
    }

    /// <summary>The answer to GraphQL's <c>rateLimit</c> query.</summary>
    private Answer GraphQLRateLimit(long installationId, DateTimeOffset now)
    {
        RateLimit limit;
        lock (_lock)
        {
            limit = Bucket(installationId, "graphql", now);
        }

        return Ok(new { data = new { rateLimit = new { limit = limit.Limit, remaining = limit.Remaining, cost = 1, resetAt = Iso(limit.Reset) } } });
    }

    private static Answer ValidationFailed(string resource, string field) =>
        new(422, Json(new { message = "Validation Failed", errors = new[] { new { resource, field, code = "missing" } }, documentation_url = Docs }));
}

/// <summary>How the fake answers during a secondary rate limit.</summary>
internal enum FakeSecondaryLimit
{
    /// <summary>403, GitHub's "secondary rate limit" message, no <c>Retry-After</c> (GitHub's usual answer).</summary>
    Forbidden,

    /// <summary>429 with <c>Retry-After</c> in seconds.</summary>
    TooManyRequestsWithRetryAfter,

    /// <summary>429 with the message and no <c>Retry-After</c>.</summary>
    TooManyRequests,
}
