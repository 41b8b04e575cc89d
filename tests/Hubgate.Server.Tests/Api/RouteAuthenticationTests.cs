using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Hubgate.Server.Api;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Api;

/// <summary>
/// Every route the server maps, read from its own route table: each one is either on the short list of public routes
/// below (with the reason it may be public) or requires the API key — and really answers 401 to no key, a wrong key,
/// an empty key and an oversized key. A new route that forgets authentication fails here.
/// </summary>
public sealed partial class RouteAuthenticationTests : IDisposable
{
    private const string ApiKey = "route-table-key-5b7e";

    /// <summary>Routes anyone may call, and why.</summary>
    private static readonly Dictionary<string, string> Public = new(StringComparer.Ordinal)
    {
        ["/healthz"] = "liveness probe: says only that the process answers",
        ["/readyz"] = "readiness probe: database reachable and migrated, nothing else",
        ["/openapi/{documentName}.json"] = "the API's description: holds no data",
        ["/webhooks/github"] = "GitHub's deliveries: authenticated by the HMAC signature instead",
        ["/extensions/github/webhook/"] = "Sentry-compatible alias of /webhooks/github, same HMAC check",
        ["/webhooks/github/{app}"] = "each App's deliveries: authenticated by the HMAC signature with that App's secrets",
        ["/metrics"] = "Prometheus scrape: counts, durations and rate limits — no payloads, tokens or secrets",
        ["/signin"] = "the dashboard's sign-in form; its POST checks the API key and sets the session cookie",
        ["/setup/apps/start"] = "posts an App manifest to GitHub: needs the one-time state an admin started, and binds the flow to this browser",
        ["/setup/apps/callback"] = "GitHub's return from App registration (cross-site, no session): checked against the server-side state and the flow's browser cookie",
        ["/setup/installations/callback"] = "GitHub's return after an installation: nothing is taken from the query string, GitHub is asked with the App's JWT",
    };

    private readonly HubgateApplication _app = new(new Dictionary<string, string?>
    {
        ["Hubgate:ApiKey"] = ApiKey,
        ["Webhooks:RunWorker"] = "false",

        // Every route is tried with every bad key from one address: past the default 20 a minute, that address gets 429s.
        ["Hubgate:FailedKeyLimitPerMinute"] = "100000",
    });

    public void Dispose() => _app.Dispose();

    private List<(string Pattern, string Method, bool RequiresKey)> Routes() =>
        [.. AllRoutes().Where(r => !r.RequiresSignIn).Select(r => (r.Pattern, r.Method, r.RequiresKey))];

    /// <summary>Every route/method pair, with how it is protected: the API key (API, proxy) or the dashboard sign-in.</summary>
    private List<(string Pattern, string Method, bool RequiresKey, bool RequiresSignIn)> AllRoutes()
    {
        _ = _app.Server; // build the host
        return [.. _app.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST", "PUT", "PATCH", "DELETE"])
                .Select(m => ("/" + e.RoutePattern.RawText!.TrimStart('/'), m, e.Metadata.GetMetadata<RequiresApiKey>() is not null,
                    e.Metadata.GetMetadata<Hubgate.Server.Dashboard.RequiresSignIn>() is not null
                    && e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is not null)))
            .Distinct()];
    }

    /// <summary>A concrete path for a pattern: <c>{id:long}</c> → 1, <c>{**path}</c> → a GitHub path, other parameters → a word.</summary>
    private static string Concrete(string pattern) => Parameter().Replace(pattern, m =>
        m.Value.StartsWith("{**", StringComparison.Ordinal) ? "repos/acme/api"
        : m.Value.Contains(":long", StringComparison.Ordinal) || m.Value.Contains("Id", StringComparison.Ordinal) ? "1"
        : "sample");

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();

    [Fact]
    public void TheRouteTable_IsReadable_AndHoldsTheKnownRoutes()
    {
        var patterns = Routes().Select(r => r.Pattern).ToHashSet(StringComparer.Ordinal);

        // The test is only as good as its reading of the table: these must be in it.
        Assert.Contains("/api/deliveries/", patterns);
        Assert.Contains("/api/installations/{id:long}", patterns);
        Assert.Contains("/proxy/installations/{installationId:long}/{**path}", patterns);
        Assert.Contains("/webhooks/github", patterns);
        Assert.True(patterns.Count >= 15, string.Join(", ", patterns));
    }

    [Fact]
    public void EveryRoute_IsPublicOnPurpose_OrRequiresTheApiKey_OrTheDashboardSignIn()
    {
        var unprotected = AllRoutes().Where(r => !r.RequiresKey && !r.RequiresSignIn && !Public.ContainsKey(r.Pattern))
            .Select(r => $"{r.Method} {r.Pattern}").ToList();

        Assert.True(unprotected.Count == 0,
            "Routes without authentication (add .RequireApiKey(), or add them to Public with the reason): " + string.Join(", ", unprotected));
        Assert.All(Routes().Where(r => r.Pattern.StartsWith("/api", StringComparison.Ordinal) || r.Pattern.StartsWith("/proxy", StringComparison.Ordinal)),
            r => Assert.True(r.RequiresKey, $"{r.Method} {r.Pattern}"));
    }

    public static TheoryData<string, string?> BadKeys => new()
    {
        { "no Authorization header", null },
        { "empty bearer", "Bearer " },
        { "wrong key", "Bearer not-the-key" },
        { "right key, wrong scheme", "Basic " + ApiKey },
        { "key with a suffix", "Bearer " + ApiKey + "x" },
        { "key prefix", "Bearer " + ApiKey[..^1] },
        { "oversized key (16 KiB)", "Bearer " + new string('k', 16 * 1024) },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task EveryProtectedRoute_Answers401_ToABadKey(string why, string? authorization)
    {
        using var client = _app.CreateClient();
        var failures = new List<string>();
        foreach (var (pattern, method, _) in Routes().Where(r => r.RequiresKey))
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(Concrete(pattern), UriKind.Relative));
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            if (method is "POST" or "PUT" or "PATCH")
            {
                request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            }

            using var response = await client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Unauthorized || !response.Headers.WwwAuthenticate.Contains(new AuthenticationHeaderValue("Bearer")))
            {
                failures.Add($"{method} {pattern}: {(int)response.StatusCode} {body}");
            }

            Assert.DoesNotContain(ApiKey, body, StringComparison.Ordinal);
        }

        Assert.True(failures.Count == 0, $"{why}: " + string.Join("; ", failures));
    }

    [Fact]
    public async Task TheRightKey_IsLetThrough_OnEveryProtectedGetRoute()
    {
        using var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        foreach (var (pattern, _, _) in Routes().Where(r => r.RequiresKey && r.Method == "GET" && r.Pattern.StartsWith("/api", StringComparison.Ordinal)))
        {
            using var response = await client.GetAsync(new Uri(Concrete(pattern), UriKind.Relative));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{pattern}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task EveryDashboardRoute_WithoutASession_GoesToSignIn_EvenWithTheApiKeyAsBearer()
    {
        using var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var dashboard = AllRoutes().Where(r => r.RequiresSignIn).ToList();
        Assert.Contains(dashboard, r => r.Pattern == "/" && r.Method == "GET");
        Assert.Contains(dashboard, r => r.Pattern == "/deliveries/{deliveryId}/redeliver" && r.Method == "POST");
        foreach (var (pattern, method, _, _) in dashboard)
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(Concrete(pattern), UriKind.Relative));
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location!.OriginalString.Contains("/signin", StringComparison.Ordinal),
                $"{method} {pattern}: {(int)response.StatusCode} {response.Headers.Location}");
        }
    }

    [Theory]
    [InlineData("route-table-key-5b7e", true)]
    [InlineData("route-table-key-5b7f", false)]
    [InlineData("", false)]
    [InlineData("route-table-key-5b7e-and-more", false)]
    public void KeyComparison_IsByDigest_SoLengthDoesNotMatter(string presented, bool equal) =>
        Assert.Equal(equal, ApiKeyAuthentication.FixedTimeEquals(presented, ApiKey));
}
