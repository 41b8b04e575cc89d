using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>
/// The proxy keeps callers on Hubgate: GitHub's <c>Link</c> and <c>Location</c> URLs come back as proxy URLs, and
/// GraphQL reaches the host's own endpoint (github.com or GitHub Enterprise Server's <c>/api/graphql</c>).
/// </summary>
public sealed class ProxyRedirectTests
{
    private const string ApiKey = "proxy-redirect-key-81c2";
    private const string Enterprise = "/api/v3";
    private const string ProxyRoot = "http://localhost/proxy/";

    private static async Task<FakeGitHubServer> StartGitHubAsync(string prefix)
    {
        var gitHub = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { PathPrefix = prefix });
        gitHub.AddInstallation(1, "acme");
        for (var i = 0; i < 5; i++)
        {
            gitHub.AddRepository(1, 100 + i, "acme", "repo" + i, isPrivate: true);
        }

        return gitHub;
    }

    private static HubgateApplication App(FakeGitHubServer gitHub) => new(new Dictionary<string, string?>
    {
        ["Hubgate:ApiKey"] = ApiKey,
        ["GitHub:AppId"] = gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
        ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
    });

    /// <summary>A client that follows nothing by itself, as a test of what the proxy answers.</summary>
    private static HttpClient Client(HubgateApplication app)
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    private static Uri? Next(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Link", out var values)
            ? values.SelectMany(v => v.Split(',')).Where(l => l.Contains("rel=\"next\"", StringComparison.Ordinal))
                .Select(l => new Uri(l[(l.IndexOf('<', StringComparison.Ordinal) + 1)..l.IndexOf('>', StringComparison.Ordinal)])).FirstOrDefault()
            : null;

    [Theory]
    [InlineData("")]
    [InlineData(Enterprise)]
    public async Task Paginating_FollowsLinksThatStayOnTheProxy(string prefix)
    {
        await using var gitHub = await StartGitHubAsync(prefix);
        using var app = App(gitHub);
        using var client = Client(app);
        var names = new List<string>();
        var links = new List<string>();

        var url = new Uri("http://localhost/proxy/installations/1/installation/repositories?per_page=2");
        for (var page = 0; page < 10 && url is not null; page++)
        {
            using var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            names.AddRange(body.GetProperty("repositories").EnumerateArray().Select(r => r.GetProperty("name").GetString()!));
            links.AddRange(response.Headers.GetValues("Link"));
            url = Next(response);
        }

        Assert.Equal(["repo0", "repo1", "repo2", "repo3", "repo4"], names);
        Assert.All(links.SelectMany(l => l.Split(',')), link =>
            Assert.StartsWith("<" + ProxyRoot + "installations/1/installation/repositories?", link.Trim(), StringComparison.Ordinal));
        Assert.Equal(3, gitHub.Requests.Count(r => r.Path == "/installation/repositories"));
    }

    [Fact]
    public async Task Paginating_AsTheApp_StaysOnProxyApp()
    {
        await using var gitHub = await StartGitHubAsync(Enterprise);
        gitHub.AddInstallation(2, "globex");
        gitHub.AddInstallation(3, "initech");
        using var app = App(gitHub);
        using var client = Client(app);

        using var first = await client.GetAsync(new Uri("/proxy/app/app/installations?per_page=1", UriKind.Relative));
        var next = Next(first);

        Assert.Equal(new Uri(ProxyRoot + "app/app/installations?per_page=1&page=2"), next);
        using var second = await client.GetAsync(next);
        Assert.Equal(2, (await second.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task RenamedRepository_LocationPointsBackAtTheProxy()
    {
        await using var gitHub = await StartGitHubAsync(Enterprise);
        gitHub.MoveRepository(1, 100, "acme", "renamed");
        using var app = App(gitHub);
        using var client = Client(app);

        using var moved = await client.GetAsync(new Uri("/proxy/installations/1/repos/acme/repo0", UriKind.Relative));

        Assert.Equal(HttpStatusCode.MovedPermanently, moved.StatusCode);
        Assert.Equal(new Uri(ProxyRoot + "installations/1/repositories/100"), moved.Headers.Location);
        using var followed = await client.GetAsync(moved.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, followed.StatusCode);
        Assert.Equal("acme/renamed", (await followed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("full_name").GetString());
    }

    [Fact]
    public async Task Archive_LocationOnAnotherHost_PassesUnchanged()
    {
        await using var gitHub = await StartGitHubAsync("");
        using var app = App(gitHub);
        using var client = Client(app);

        using var redirect = await client.GetAsync(new Uri("/proxy/installations/1/repos/acme/repo1/tarball/main", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.StartsWith(gitHub.CodeloadBaseUrl!.AbsoluteUri + "acme/repo1/legacy.tar.gz/", redirect.Headers.Location!.AbsoluteUri, StringComparison.Ordinal);
        Assert.Empty(gitHub.CodeloadRequests);
    }

    [Theory]
    [InlineData("", "/graphql")]
    [InlineData(Enterprise, "/api/graphql")]
    public async Task GraphQL_ThroughTheProxy_ReachesTheHostsEndpointWithTheInstallationToken(string prefix, string gitHubPath)
    {
        await using var gitHub = await StartGitHubAsync(prefix);
        using var app = App(gitHub);
        using var client = Client(app);

        using var response = await client.PostAsJsonAsync(new Uri("/proxy/installations/1/graphql", UriKind.Relative), new { query = "{ viewer { login } }" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hubgate-test[bot]", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetProperty("viewer").GetProperty("login").GetString());
        var seen = Assert.Single(gitHub.Requests, r => r.Path == gitHubPath);
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
    }

    [Fact]
    public async Task GraphQL_ThroughProxyApp_CarriesTheJwtToTheEnterpriseEndpoint()
    {
        await using var gitHub = await StartGitHubAsync(Enterprise);
        using var app = App(gitHub);
        using var client = Client(app);

        using var response = await client.PostAsJsonAsync(new Uri("/proxy/app/graphql", UriKind.Relative), new { query = "{ viewer { login } }" });

        // GitHub answers App JWTs on GraphQL with 401, passed back as it is.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(FakeCredential.Jwt, Assert.Single(gitHub.Requests, r => r.Path == "/api/graphql").Credential);
        Assert.Equal(0, gitHub.MintCount);
    }

    [Fact]
    public async Task Upload_ThroughTheProxy_ReachesEnterpriseUploads()
    {
        await using var gitHub = await StartGitHubAsync(Enterprise);
        using var app = App(gitHub);
        using var client = Client(app);
        using var content = new ByteArrayContent("release asset"u8.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/zip");

        using var response = await client.PostAsync(new Uri("/proxy/installations/1/uploads/repos/acme/repo2/releases/9/assets?name=a.zip", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var seen = Assert.Single(gitHub.Requests, r => r.Path == "/api/uploads/repos/acme/repo2/releases/9/assets");
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
        Assert.Equal("?name=a.zip", seen.Query);
    }
}
