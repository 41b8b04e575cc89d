using System.Net;
using System.Net.Http.Json;
using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Hubgate.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Authentication;

public sealed class GitHubAppAuthenticationHandlerTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static Task<GitHubAppHarness> StartAsync(Action<Dictionary<string, string?>>? settings = null, FakeGitHubOptions? options = null, TimeProvider? time = null) =>
        GitHubAppHarness.StartAsync(settings, options, time, s =>
        {
            s.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1);
            s.AddHttpClient("any").AddGitHubAppAuthentication();
        });

    private static HttpClient Client(GitHubAppHarness h, string name = "acme") =>
        h.Services.Get<IHttpClientFactory>().CreateClient(name);

    private static void Seed(GitHubAppHarness h)
    {
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.AddRepository(1, 100, "acme", "api");
    }

    [Fact]
    public async Task Get_InstallationRoute_CarriesTheInstallationTokenAndGitHubHeaders()
    {
        await using var h = await StartAsync();
        Seed(h);

        using var response = await Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = h.GitHub.Requests.Single(r => r.Path == "/repos/acme/api");
        Assert.Equal(FakeCredential.InstallationToken, request.Credential);
        Assert.Equal(1, request.InstallationId);
        Assert.Equal("2022-11-28", request.Headers["X-GitHub-Api-Version"]);
        Assert.Equal("application/vnd.github+json", request.Headers["Accept"]);
        Assert.StartsWith("Hubgate/", request.Headers["User-Agent"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_AppRoute_CarriesTheJwt_EvenOnAnInstallationClient()
    {
        await using var h = await StartAsync();
        Seed(h);

        using var response = await Client(h).GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeCredential.Jwt, h.GitHub.Requests.Single(r => r.Path == "/app").Credential);
        Assert.Equal(0, h.GitHub.MintCount);
    }

    [Fact]
    public async Task Get_CallerAcceptHeader_IsKept()
    {
        await using var h = await StartAsync();
        Seed(h);
        using var request = new HttpRequestMessage(HttpMethod.Get, "repos/acme/api");
        request.Headers.TryAddWithoutValidation("Accept", "application/vnd.github.raw+json");

        using var response = await Client(h).SendAsync(request, Timeout);

        Assert.Equal("application/vnd.github.raw+json", h.GitHub.Requests.Single(r => r.Path == "/repos/acme/api").Headers["Accept"]);
    }

    [Fact]
    public async Task Get_PerRequestInstallation_OverridesTheClient()
    {
        await using var h = await StartAsync();
        Seed(h);
        h.GitHub.AddInstallation(2, "other");
        h.GitHub.AddRepository(2, 200, "other", "web");
        using var request = new HttpRequestMessage(HttpMethod.Get, "repos/other/web").ForInstallation(2);

        using var response = await Client(h, "any").SendAsync(request, Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, h.GitHub.Requests.Single(r => r.Path == "/repos/other/web").InstallationId);
    }

    [Fact]
    public async Task Get_NoInstallationNamed_IsNeverSentWithoutCredentials()
    {
        await using var h = await StartAsync();
        Seed(h);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Client(h, "any").GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout));

        Assert.Contains("ForInstallation", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.GitHub.Requests, r => r.Path == "/repos/acme/api");
    }

    [Fact]
    public async Task Get_UninstalledInstallation_ThrowsAndSendsNothingUnauthenticated()
    {
        await using var h = await StartAsync();
        Seed(h);
        h.GitHub.RemoveInstallation(1);

        await Assert.ThrowsAsync<InstallationNotFoundException>(() => Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout));

        Assert.DoesNotContain(h.GitHub.Requests, r => r.Path == "/repos/acme/api");
        Assert.DoesNotContain(h.GitHub.Requests, r => r.Credential == FakeCredential.None);
    }

    [Fact]
    public async Task Get_AnotherHost_IsRefusedBeforeSending()
    {
        await using var h = await StartAsync();
        Seed(h);

        var ex = await Assert.ThrowsAsync<GitHubCredentialsRefusedException>(() => Client(h).GetAsync(new Uri("http://127.0.0.2:9/repos/acme/api"), Timeout));

        Assert.Contains("GitHub:ApiBaseUrl", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_RevokedToken_MintsOnceAndRetriesOnce()
    {
        await using var h = await StartAsync();
        Seed(h);
        var client = Client(h);
        (await client.GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout)).Dispose();
        h.GitHub.RevokeAllTokens(1);
        h.Advance(TimeSpan.FromSeconds(30));
        h.GitHub.ResetRequests();

        using var response = await client.GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, h.GitHub.MintCount);
        Assert.Equal(2, h.GitHub.Requests.Count(r => r.Path == "/repos/acme/api"));
    }

    [Fact]
    public async Task Get_ManyCallersHitARevokedToken_StillMintOnce()
    {
        await using var h = await StartAsync();
        Seed(h);
        var client = Client(h);
        (await client.GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout)).Dispose();
        h.GitHub.RevokeAllTokens(1);
        h.Advance(TimeSpan.FromSeconds(30));
        h.GitHub.MintDelay = TimeSpan.FromMilliseconds(200);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            using var r = await client.GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);
            return r.StatusCode;
        })));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(2, h.GitHub.MintCount);
    }

    [Fact]
    public async Task Get_FreshTokenNotYetReplicated_RetriesAfterAShortDelay()
    {
        // Real time: the handler's replication-lag pause is a real delay here.
        await using var h = await StartAsync(time: TimeProvider.System);
        Seed(h);
        // Long enough that the first request (JIT on a loaded machine) still arrives before the token is active, short
        // enough for the handler's three lag retries (0.5 + 1 + 1.5 s) to reach it.
        h.GitHub.TokenActivationDelay = TimeSpan.FromSeconds(2);

        using var response = await Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, h.GitHub.MintCount);
        Assert.True(h.GitHub.Requests.Count(r => r.Path == "/repos/acme/api") >= 2);
    }

    [Theory]
    [InlineData(15)]
    [InlineData(-15)]
    public async Task AppRequest_ClockSkew_IsLearnedFromTheDateHeaderAndPersisted(int minutes)
    {
        await using var h = await StartAsync();
        Seed(h);
        h.GitHub.Clock.Offset = TimeSpan.FromMinutes(minutes);

        using var response = await Client(h).GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var offset = h.Services.Get<GitHubClock>().Offset;
        Assert.InRange(offset.TotalMinutes, minutes - 0.5, minutes + 0.5);

        await h.RestartAsync();
        h.GitHub.ResetRequests();
        var token = await h.Services.Get<InstallationTokenProvider>().GetTokenAsync(1, Timeout);
        Assert.False(string.IsNullOrEmpty(token.Token));
        Assert.DoesNotContain(h.GitHub.Requests, r => r.Status == 401);
    }

    [Fact]
    public async Task InstallationRequest_ClockSkew_MintsAfterRecovering()
    {
        await using var h = await StartAsync();
        Seed(h);
        h.GitHub.Clock.Offset = TimeSpan.FromMinutes(-15);

        using var response = await Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, h.GitHub.MintCount);
    }

    [Fact]
    public async Task Get_RateLimitExhausted_ThrowsWithTheResetTime()
    {
        await using var h = await StartAsync();
        Seed(h);
        var reset = h.GitHub.Clock.UtcNow.AddMinutes(20);
        h.GitHub.SetRateLimit(1, limit: 5000, remaining: 0, reset);

        var ex = await Assert.ThrowsAsync<GitHubRateLimitException>(() => Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout));

        Assert.NotNull(ex.ResetsAt);
        Assert.InRange(ex.ResetsAt!.Value, reset.AddSeconds(-2), reset.AddSeconds(2));
        var known = h.Services.Get<GitHubRateLimits>().ForInstallation(1);
        Assert.NotNull(known);
        Assert.Equal(0, known!.Remaining);
    }

    [Fact]
    public async Task Get_Success_RecordsTheRateLimitState()
    {
        await using var h = await StartAsync();
        Seed(h);

        (await Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout)).Dispose();

        var known = h.Services.Get<GitHubRateLimits>().ForInstallation(1);
        Assert.NotNull(known);
        Assert.True(known!.Limit > 0);
    }

    [Fact]
    public async Task Octokit_ReadsARepositoryThroughTheHandler()
    {
        await using var h = await StartAsync();
        Seed(h);

        var github = h.Services.Get<GitHubClientFactory>().ForInstallation(1);
        var repository = await github.Repository.Get("acme", "api");

        Assert.Equal("api", repository.Name);
        Assert.Equal(100, repository.Id);
        Assert.Equal(FakeCredential.InstallationToken, h.GitHub.Requests.Single(r => r.Path == "/repos/acme/api").Credential);
    }

    [Fact]
    public async Task Octokit_AppClient_ListsInstallationsWithTheJwt()
    {
        await using var h = await StartAsync();
        Seed(h);

        var installations = await h.Services.Get<GitHubClientFactory>().ForApp().GitHubApps.GetAllInstallationsForCurrent();

        Assert.Equal(1, Assert.Single(installations).Id);
    }

    [Fact]
    public async Task EnterpriseServerBase_WorksBelowItsApiPrefix()
    {
        await using var h = await StartAsync(options: new FakeGitHubOptions { PathPrefix = "/api/v3" });
        Seed(h);

        using var response = await Client(h).GetAsync(new Uri("repos/acme/api", UriKind.Relative), Timeout);
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, object>>(Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.EndsWith("/api/v3/", h.GitHub.ApiBaseUrl.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal("api", body!["name"].ToString());
        Assert.Equal(1, h.GitHub.MintCount);
    }
}
