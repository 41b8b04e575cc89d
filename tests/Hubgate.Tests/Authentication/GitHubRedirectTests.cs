using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Authentication;

/// <summary>GitHub's redirects through the library's clients: credentials on GitHub, none anywhere else.</summary>
public sealed class GitHubRedirectTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static async Task<GitHubAppHarness> StartAsync(FakeGitHubOptions? options = null)
    {
        var h = await GitHubAppHarness.StartAsync(s => s["GitHub:RequestTimeout"] = "00:00:30", gitHubOptions: options, configure: s => s.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1));
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.AddRepository(1, 100, "acme", "old-api", isPrivate: true);
        return h;
    }

    private static HttpClient Client(GitHubAppHarness h) => h.Services.Get<IHttpClientFactory>().CreateClient("acme");

    private static Uri Url(string path) => new(path, UriKind.Relative);

    [Theory]
    [InlineData("")]
    [InlineData("/api/v3")]
    public async Task RenamedPrivateRepository_IsFollowedWithTheInstallationToken(string prefix)
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = prefix });
        h.GitHub.MoveRepository(1, 100, "acme", "api");

        using var response = await Client(h).GetAsync(Url("repos/acme/old-api"), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("acme/api", (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("full_name").GetString());
        Assert.Equal(301, h.GitHub.Requests.Single(r => r.Path == "/repos/acme/old-api").Status);
        var followed = h.GitHub.Requests.Single(r => r.Path == "/repositories/100");
        Assert.Equal(FakeCredential.InstallationToken, followed.Credential);
        Assert.Equal(1, followed.InstallationId);
        Assert.Equal(1, h.GitHub.MintCount);
    }

    [Fact]
    public async Task RenamedPrivateRepository_ThroughOctokit_IsFound()
    {
        await using var h = await StartAsync();
        h.GitHub.MoveRepository(1, 100, "acme", "api");

        var repository = await h.Services.Get<GitHubClientFactory>().ForInstallation(1).Repository.Get("acme", "old-api");

        Assert.Equal("api", repository.Name);
        Assert.Equal(100, repository.Id);
    }

    [Fact]
    public async Task PostToRenamedRepository_307_KeepsMethodBodyAndToken()
    {
        await using var h = await StartAsync();
        h.GitHub.MoveRepository(1, 100, "acme", "api");

        using var response = await Client(h).PostAsJsonAsync(Url("repos/acme/old-api/issues"), new { title = "Moved", body = "still here" }, Timeout);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("Moved", (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("title").GetString());
        Assert.Equal(307, h.GitHub.Requests.Single(r => r.Path == "/repos/acme/old-api/issues").Status);
        var followed = h.GitHub.Requests.Single(r => r.Path == "/repositories/100/issues");
        Assert.Equal("POST", followed.Method);
        Assert.Equal(FakeCredential.InstallationToken, followed.Credential);
    }

    [Theory]
    [InlineData("tarball")]
    [InlineData("zipball")]
    public async Task Archive_IsFetchedFromTheOtherHostWithoutCredentials_AndItsSignedUrlIsNotLogged(string format)
    {
        await using var h = await StartAsync();

        using var response = await Client(h).GetAsync(Url($"repos/acme/old-api/{format}/main"), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeGitHubServer.ArchiveBytes(new FakeRepository(100, "acme", "old-api", true, "main")), await response.Content.ReadAsByteArrayAsync(Timeout));
        Assert.Equal(FakeCredential.InstallationToken, h.GitHub.Requests.Single(r => r.Path == $"/repos/acme/old-api/{format}/main").Credential);
        Assert.False(Assert.Single(h.GitHub.CodeloadRequests).HadAuthorization);
        Assert.DoesNotContain("token=", h.Services.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ArchiveOfRenamedRepository_KeepsTheTokenOnGitHub_AndDropsItOnCodeload()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = "/api/v3" });
        h.GitHub.MoveRepository(1, 100, "acme", "api");

        using var response = await Client(h).GetAsync(Url("repos/acme/old-api/tarball/main"), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeCredential.InstallationToken, h.GitHub.Requests.Single(r => r.Path == "/repositories/100/tarball/main").Credential);
        Assert.False(Assert.Single(h.GitHub.CodeloadRequests).HadAuthorization);
        Assert.Equal("/acme/api/legacy.tar.gz/refs/heads/main", h.GitHub.CodeloadRequests[0].Path);
    }

    [Fact]
    public async Task FakeCodeload_RefusesARequestThatCarriesAuthorization()
    {
        await using var h = await StartAsync();
        h.GitHub.AddRepository(1, 200, "acme", "docs", isPrivate: false);
        using var plain = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        plain.DefaultRequestHeaders.UserAgent.ParseAdd("test");
        using var redirect = await plain.GetAsync(new Uri(h.GitHub.ApiBaseUrl, "repos/acme/docs/tarball/main"), Timeout);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        using var withCredentials = new HttpRequestMessage(HttpMethod.Get, redirect.Headers.Location);
        withCredentials.Headers.TryAddWithoutValidation("Authorization", "Bearer ghs_anything");

        using var refused = await plain.SendAsync(withCredentials, Timeout);
        using var served = await plain.GetAsync(redirect.Headers.Location, Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task RedirectLoop_StopsAfterTenHops_AndHandsBackTheRedirect()
    {
        await using var h = await StartAsync();
        h.GitHub.AddRedirect("repos/acme/loop", 302, "repos/acme/loop");

        using var response = await Client(h).GetAsync(Url("repos/acme/loop"), Timeout);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal(11, h.GitHub.Requests.Count(r => r.Path == "/repos/acme/loop"));
        Assert.All(h.GitHub.Requests.Where(r => r.Path == "/repos/acme/loop"), r => Assert.Equal(FakeCredential.InstallationToken, r.Credential));
    }

    [Theory]
    [InlineData(303, "GET")]
    [InlineData(302, "GET")]
    [InlineData(308, "POST")]
    public async Task Post_Redirected_ChangesOrKeepsTheMethodAsHttpSays(int status, string method)
    {
        await using var h = await StartAsync();
        h.GitHub.AddRedirect("repos/acme/moved/issues", status, "repos/acme/old-api/issues");

        using var response = await Client(h).PostAsJsonAsync(Url("repos/acme/moved/issues"), new { title = "Where" }, Timeout);

        var followed = h.GitHub.Requests.Single(r => r.Path == "/repos/acme/old-api/issues");
        Assert.Equal(method, followed.Method);
        Assert.Equal(method == "POST" ? HttpStatusCode.Created : HttpStatusCode.NotFound, response.StatusCode); // the fake lists no issues
        Assert.Equal(FakeCredential.InstallationToken, followed.Credential);
    }
}
