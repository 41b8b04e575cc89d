using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>The authorizing proxy end to end: the real server in front of the fake GitHub.</summary>
public sealed class ProxyTests : IAsyncLifetime
{
    private const string ApiKey = "proxy-test-key-3f9a";
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddRepository(1, 100, "acme", "api");
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private HubgateApplication App(Action<Dictionary<string, string?>>? change = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
        };
        change?.Invoke(settings);
        return new HubgateApplication(settings);
    }

    private static HttpClient Client(HubgateApplication app, string? key = ApiKey)
    {
        var client = app.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    private static Uri Url(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task Get_InstallationRoute_ForwardsWithTheInstallationTokenNotTheCallersKey()
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync() + string.Join(",", _gitHub.Requests.Select(r => r.Path)));
        var repository = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("acme/api", repository.GetProperty("full_name").GetString());
        var seen = Assert.Single(_gitHub.Requests, r => r.Path == "/repos/acme/api");
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
        Assert.Equal(1, seen.InstallationId);
        Assert.DoesNotContain(_gitHub.Requests, r => r.Headers.Values.Any(v => v.Contains(ApiKey, StringComparison.Ordinal)));
        Assert.True(response.Headers.Contains("X-RateLimit-Remaining"), "GitHub's rate-limit headers are passed back");
    }

    [Fact]
    public async Task SecondaryLimit_IsPassedBackAsGitHubSentIt_ThenTheNextRequestIsHeldWithoutReachingGitHub()
    {
        _gitHub.BlockSecondary(1, TimeSpan.FromMinutes(5));
        using var app = App();
        using var client = Client(app);

        using var first = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));
        using var second = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));

        Assert.Equal(HttpStatusCode.Forbidden, first.StatusCode);
        Assert.Contains("secondary rate limit", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Contains("secondary rate limit", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(_gitHub.Requests, r => r.Path == "/repos/acme/api");
        Assert.Equal(1, _gitHub.RequestsWhileSecondaryLimited);
    }

    [Fact]
    public async Task Get_AppRoute_ForwardsWithTheJwt_AndKeepsTheQuery()
    {
        _gitHub.AddInstallation(2, "globex");
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/app/app/installations?per_page=1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray());
        Assert.Contains("rel=\"next\"", string.Join(',', response.Headers.GetValues("Link")), StringComparison.Ordinal);
        var seen = Assert.Single(_gitHub.Requests, r => r.Path == "/app/installations");
        Assert.Equal(FakeCredential.Jwt, seen.Credential);
        Assert.Equal("?per_page=1", seen.Query);
    }

    [Theory]
    [InlineData("/proxy/app/repos/acme/api/installation")]
    [InlineData("/proxy/app/orgs/acme/installation")]
    [InlineData("/proxy/app/app/installations/1")]
    public async Task AppRoute_ForwardsToTheApiBasePlusThePath_WithTheJwt(string path)
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url(path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64());
        var seen = Assert.Single(_gitHub.Requests);
        Assert.Equal(path["/proxy/app".Length..], seen.Path);
        Assert.Equal(FakeCredential.Jwt, seen.Credential);
    }

    [Theory]
    [InlineData("GET", "/proxy/app/repos/acme/api")]
    [InlineData("GET", "/proxy/app/installation/repositories")]
    [InlineData("GET", "/proxy/app/installations")]
    [InlineData("GET", "/proxy/app")]
    public async Task AppRoute_PathThatIsNotAnAppRoute_Is400_AndNothingReachesGitHub(string method, string path)
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), Url(path)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("/proxy/installations/{installation_id}/", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_gitHub.Requests);
    }

    [Theory]
    [InlineData("GET", "/proxy/installations/1/app", "/proxy/app/app")]
    [InlineData("GET", "/proxy/installations/1/app/installations", "/proxy/app/app/installations")]
    [InlineData("POST", "/proxy/installations/1/app/installations/1/access_tokens", "/proxy/app/app/installations/1/access_tokens")]
    [InlineData("GET", "/proxy/installations/1/repos/acme/api/installation", "/proxy/app/repos/acme/api/installation")]
    [InlineData("GET", "/proxy/installations/1/orgs/acme/installation", "/proxy/app/orgs/acme/installation")]
    [InlineData("GET", "/proxy/installations/1/marketplace_listing/plans", "/proxy/app/marketplace_listing/plans")]
    public async Task InstallationRoute_NeverActsAsTheApp_Is400NamingTheAppRoute(string method, string path, string hint)
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), Url(path)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("use " + hint, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_gitHub.Requests);
    }

    [Fact]
    public async Task Post_LargeBody_IsStreamedToGitHubWhole()
    {
        using var app = App();
        using var client = Client(app);
        var text = new string('x', 2 * 1024 * 1024);
        var json = JsonSerializer.Serialize(new { title = "Big report", body = text });

        var response = await client.PostAsync(Url("/proxy/installations/1/repos/acme/api/issues"),
            new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(text.Length, created.GetProperty("body_length").GetInt32());
        Assert.Equal(Encoding.UTF8.GetByteCount(json), created.GetProperty("request_bytes").GetInt64());
        Assert.NotNull(response.Headers.Location);
    }

    [Fact]
    public async Task GitHubErrors_ArePassedThroughWithTheirStatus()
    {
        using var app = App();
        using var client = Client(app);

        var missing = await client.GetAsync(Url("/proxy/installations/1/repos/acme/nope"));
        var invalid = await client.PostAsync(Url("/proxy/installations/1/repos/acme/api/issues"),
            new StringContent("{\"body\":\"no title\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid.StatusCode);
        Assert.Contains("Validation Failed", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task MissingOrWrongApiKey_Is401_AndNothingReachesGitHub(string? key)
    {
        using var app = App();
        using var client = Client(app, key);

        var response = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(_gitHub.Requests);
    }

    [Fact]
    public async Task NoApiKeyConfigured_Is503NamingTheSetting()
    {
        using var app = App(s => s["Hubgate:ApiKey"] = null);
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/app/app/installations"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("Hubgate:ApiKey", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoAppCredentials_Is503NamingTheMissingKeys()
    {
        using var app = App(s =>
        {
            s["GitHub:AppId"] = null;
            s["GitHub:PrivateKey"] = null;
        });
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("GitHub:AppId", text, StringComparison.Ordinal);
        Assert.Contains("GitHub:PrivateKey", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/proxy/installations/1/https:%2F%2Fevil.example%2Frepos")]
    [InlineData("/proxy/installations/1/repos%2F..%2F..%2Fapp")]
    [InlineData("/proxy/app/..%2Finstallation%2Frepositories")]
    public async Task PathsThatLeaveTheApiBase_Are400(string path)
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url(path));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(_gitHub.Requests);
    }

    [Fact]
    public async Task UninstalledInstallation_Is404WithAClearMessage()
    {
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/installations/404/repos/acme/api"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("404", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_gitHub.Requests, r => r.Path == "/repos/acme/api");
    }

    [Fact]
    public async Task SuspendedInstallation_Is403InstallationSuspendedProblem_AndNothingIsForwarded()
    {
        _gitHub.SuspendInstallation(1);
        using var app = App();
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));

        await AssertProblemAsync(response, Hubgate.Problems.HubgateProblems.InstallationSuspended);
        Assert.DoesNotContain(_gitHub.Requests, r => r.Path == "/repos/acme/api");
    }

    [Fact]
    public async Task AppKeyGitHubRejects_Is502GitHubFailedProblem_NamingTheKeysToCheck()
    {
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        using var app = App(s => s["GitHub:PrivateKey"] = otherKey.ExportRSAPrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal));
        using var client = Client(app);

        var response = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));

        var problem = await AssertProblemAsync(response, Hubgate.Problems.HubgateProblems.GitHubFailed);
        Assert.Contains("GitHub:AppId", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_gitHub.Requests, r => r.Path == "/repos/acme/api");
    }

    [Fact]
    public async Task SecondCall_ReusesTheCachedToken()
    {
        using var app = App();
        using var client = Client(app);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"))).StatusCode);
        }

        Assert.Equal(1, _gitHub.MintCountFor(1));
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, Hubgate.Problems.ProblemKind expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == (HttpStatusCode)expected.Status, $"{(int)response.StatusCode}: {body}");
        var problem = JsonSerializer.Deserialize<JsonElement>(body);
        Assert.Equal(expected.Type, problem.GetProperty("type").GetString());
        return problem;
    }
}
