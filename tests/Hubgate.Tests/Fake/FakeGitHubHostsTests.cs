using System.Net;
using Hubgate.Testing;

namespace Hubgate.Tests.Fake;

/// <summary>
/// Two fake GitHub hosts side by side, as issue 17's tests use them: github.com and a GitHub Enterprise Server
/// (<c>/api/v3</c>, a key of its own), each with its own App and an installation numbered 1. Neither accepts the
/// other's JWTs or tokens, and the GHES host serves REST only below its prefix.
/// </summary>
public sealed class FakeGitHubHostsTests : IAsyncLifetime
{
    private readonly FakeCalls _calls = new();
    private FakeGitHubServer _dotCom = null!;
    private FakeGitHubServer _enterprise = null!;

    public async Task InitializeAsync()
    {
        _dotCom = await FakeGitHubServer.StartAsync();
        _enterprise = await FakeGitHubServer.StartAsync(new FakeGitHubOptions
        {
            PathPrefix = "/api/v3", OwnKey = true, AppId = 777, ClientId = "Iv1.enterprise00001", Slug = "hubgate-ghes", WebhookSecret = "ghes-webhook-secret-0001",
        });
        _dotCom.AddInstallation(1, "acme");
        _dotCom.AddRepository(1, 100, "acme", "api");
        _enterprise.AddInstallation(1, "acme");
        _enterprise.AddRepository(1, 100, "acme", "api");
    }

    public async Task DisposeAsync()
    {
        await _dotCom.DisposeAsync();
        await _enterprise.DisposeAsync();
    }

    [Fact]
    public async Task OwnKey_GivesTheFakeAKeyOfItsOwn_WhileOthersShareOne()
    {
        await using var another = await FakeGitHubServer.StartAsync();
        await using var anotherOwn = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { OwnKey = true });

        Assert.Equal(_dotCom.PrivateKeyPkcs1Pem, another.PrivateKeyPkcs1Pem);
        Assert.NotEqual(_dotCom.PrivateKeyPkcs1Pem, _enterprise.PrivateKeyPkcs1Pem);
        Assert.NotEqual(_enterprise.PrivateKeyPkcs1Pem, anotherOwn.PrivateKeyPkcs1Pem);
        Assert.NotEqual(_enterprise.PrivateKeyPkcs8Pem, anotherOwn.PrivateKeyPkcs8Pem);
        Assert.Equal(_enterprise.PrivateKeyPkcs1Pem, _enterprise.PrimaryApp.PrivateKeyPem);
    }

    [Fact]
    public void EachHost_NamesItsAppAndWebhookSecret()
    {
        Assert.Equal((12345, "hubgate-test", FakeGitHubServer.DefaultWebhookSecret), (_dotCom.AppId, _dotCom.Slug, _dotCom.WebhookSecret));
        Assert.Equal((777, "hubgate-ghes", "ghes-webhook-secret-0001"), (_enterprise.AppId, _enterprise.Slug, _enterprise.WebhookSecret));
        Assert.Equal("Hubgate Test", _enterprise.AppName);
    }

    [Fact]
    public void WebBaseUrl_IsTheHostRoot_AndTheApiIsBelowTheEnterprisePrefix()
    {
        Assert.Equal(_dotCom.ApiBaseUrl, _dotCom.WebBaseUrl);
        Assert.Equal("/", _enterprise.WebBaseUrl.AbsolutePath);
        Assert.Equal(new Uri(_enterprise.WebBaseUrl, "api/v3/"), _enterprise.ApiBaseUrl);
    }

    [Fact]
    public async Task EachHost_AcceptsItsOwnAppsJwt()
    {
        var (dotComStatus, dotComApp, _) = await _calls.GetAsync(new Uri(_dotCom.ApiBaseUrl, "app"), FakeCalls.JwtOf(_dotCom, _dotCom.PrimaryApp));
        var (enterpriseStatus, enterpriseApp, response) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "app"), FakeCalls.JwtOf(_enterprise, _enterprise.PrimaryApp));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (dotComStatus, enterpriseStatus));
        Assert.Equal(12345, dotComApp.GetProperty("id").GetInt64());
        Assert.Equal(777, enterpriseApp.GetProperty("id").GetInt64());
        Assert.StartsWith(_enterprise.WebBaseUrl.AbsoluteUri + "github-apps/", enterpriseApp.GetProperty("html_url").GetString(), StringComparison.Ordinal);
        Assert.True(response.Headers.Contains("X-GitHub-Enterprise-Version"));
    }

    [Fact]
    public async Task EachHost_RefusesTheOtherHostsJwt_EvenNamingItsOwnAppId()
    {
        var foreignKeyOwnIssuer = Infrastructure.Jwt.Sign(_dotCom.PrivateKeyPkcs1Pem, _enterprise.AppId, _enterprise.Clock.UtcNow);

        var (fromDotCom, _, _) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "app"), FakeCalls.JwtOf(_dotCom, _dotCom.PrimaryApp));
        var (fromEnterprise, _, _) = await _calls.GetAsync(new Uri(_dotCom.ApiBaseUrl, "app"), FakeCalls.JwtOf(_enterprise, _enterprise.PrimaryApp));
        var (forged, _, _) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "app"), foreignKeyOwnIssuer);
        var (mint, _, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(_enterprise.ApiBaseUrl, "app/installations/1/access_tokens"), FakeCalls.JwtOf(_dotCom, _dotCom.PrimaryApp), new { });

        Assert.Equal(HttpStatusCode.Unauthorized, fromDotCom);
        Assert.Equal(HttpStatusCode.Unauthorized, fromEnterprise);
        Assert.Equal(HttpStatusCode.Unauthorized, forged);
        Assert.Equal(HttpStatusCode.Unauthorized, mint);
        Assert.Equal(0, _enterprise.MintCount);
    }

    [Fact]
    public async Task EachHost_RefusesTheOtherHostsInstallationToken_ForTheSameInstallationNumber()
    {
        var dotComToken = await _calls.MintAsync(_dotCom, 1, FakeCalls.JwtOf(_dotCom, _dotCom.PrimaryApp));
        var enterpriseToken = await _calls.MintAsync(_enterprise, 1, FakeCalls.JwtOf(_enterprise, _enterprise.PrimaryApp));

        var (own, _, _) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "installation/repositories"), enterpriseToken);
        var (dotComOnEnterprise, _, _) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "installation/repositories"), dotComToken);
        var (enterpriseOnDotCom, _, _) = await _calls.GetAsync(new Uri(_dotCom.ApiBaseUrl, "installation/repositories"), enterpriseToken);

        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Equal(HttpStatusCode.Unauthorized, dotComOnEnterprise);
        Assert.Equal(HttpStatusCode.Unauthorized, enterpriseOnDotCom);
    }

    [Theory]
    [InlineData("GET", "app")]
    [InlineData("GET", "app/installations")]
    [InlineData("GET", "app/installations/1")]
    [InlineData("POST", "app/installations/1/access_tokens")]
    [InlineData("GET", "app/hook/config")]
    [InlineData("GET", "app/hook/deliveries")]
    [InlineData("GET", "orgs/acme/installation")]
    [InlineData("POST", "app-manifests/0123456789abcdef0123/conversions")]
    public async Task EnterpriseHost_AnswersAppRoutesOnlyBelowThePrefix(string method, string path)
    {
        var jwt = FakeCalls.JwtOf(_enterprise, _enterprise.PrimaryApp);

        var (atRoot, _, _) = await _calls.SendAsync(new HttpMethod(method), new Uri(_enterprise.WebBaseUrl, path), jwt, method == "POST" ? new { } : null);
        var (belowPrefix, _, _) = await _calls.SendAsync(new HttpMethod(method), new Uri(_enterprise.ApiBaseUrl, path), jwt, method == "POST" ? new { } : null);

        Assert.Equal(HttpStatusCode.NotFound, atRoot);
        Assert.Equal(path.StartsWith("app-manifests", StringComparison.Ordinal) ? HttpStatusCode.NotFound : // an unknown code, but the route is there:
            method == "POST" ? HttpStatusCode.Created : HttpStatusCode.OK, belowPrefix);
    }

    [Fact]
    public async Task EnterpriseHost_AnswersInstallationRoutesOnlyBelowThePrefix_AndGraphQLBesideIt()
    {
        var token = await _calls.MintAsync(_enterprise, 1, FakeCalls.JwtOf(_enterprise, _enterprise.PrimaryApp));

        var (reposAtRoot, _, _) = await _calls.GetAsync(new Uri(_enterprise.WebBaseUrl, "installation/repositories"), token);
        var (repoAtRoot, _, _) = await _calls.GetAsync(new Uri(_enterprise.WebBaseUrl, "repos/acme/api"), token);
        var (repo, _, _) = await _calls.GetAsync(new Uri(_enterprise.ApiBaseUrl, "repos/acme/api"), token);
        var (graphQLAtDotComPath, _, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(_enterprise.WebBaseUrl, "graphql"), token, new { query = "{ viewer { login } }" });
        var (graphQLBelowPrefix, _, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(_enterprise.ApiBaseUrl, "graphql"), token, new { query = "{ viewer { login } }" });
        var (graphQL, data, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(_enterprise.WebBaseUrl, "api/graphql"), token, new { query = "{ viewer { login } }" });

        Assert.Equal(HttpStatusCode.NotFound, reposAtRoot);
        Assert.Equal(HttpStatusCode.NotFound, repoAtRoot);
        Assert.Equal(HttpStatusCode.OK, repo);
        Assert.Equal(HttpStatusCode.NotFound, graphQLAtDotComPath);
        Assert.Equal(HttpStatusCode.NotFound, graphQLBelowPrefix);
        Assert.Equal(HttpStatusCode.OK, graphQL);
        Assert.Equal("hubgate-ghes[bot]", data.GetProperty("data").GetProperty("viewer").GetProperty("login").GetString());
    }
}
