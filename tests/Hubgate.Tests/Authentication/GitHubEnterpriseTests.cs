using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Authentication;

/// <summary>GraphQL, uploads and the JWT issuer on github.com and on GitHub Enterprise Server (<c>/api/v3</c>).</summary>
public sealed class GitHubEnterpriseTests
{
    private const string Enterprise = "/api/v3";

    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static async Task<GitHubAppHarness> StartAsync(FakeGitHubOptions options, Action<Dictionary<string, string?>>? settings = null)
    {
        var h = await GitHubAppHarness.StartAsync(s => { s["GitHub:RequestTimeout"] = "00:00:30"; settings?.Invoke(s); }, options, configure: s => s.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1));
        h.GitHub.AddInstallation(1, "acme");
        h.GitHub.AddRepository(1, 100, "acme", "api", isPrivate: true);
        return h;
    }

    private static HttpClient Client(GitHubAppHarness h) => h.Services.Get<IHttpClientFactory>().CreateClient("acme");

    /// <summary>Where a caller finds GraphQL: next to the REST base on GHES (<c>/api/graphql</c>), below it on github.com.</summary>
    private static Uri GraphQL(GitHubAppHarness h) => new(h.GitHub.ApiBaseUrl, h.GitHub.GraphQLPath);

    [Theory]
    [InlineData("")]
    [InlineData(Enterprise)]
    public async Task GraphQL_CarriesTheInstallationToken_AtTheHostsEndpoint(string prefix)
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = prefix });

        using var response = await Client(h).PostAsJsonAsync(GraphQL(h), new { query = "{ viewer { login } }" }, Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("data");
        Assert.Equal("hubgate-test[bot]", data.GetProperty("viewer").GetProperty("login").GetString());
        var seen = h.GitHub.Requests.Single(r => r.Path == (prefix.Length == 0 ? "/graphql" : "/api/graphql"));
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
    }

    [Fact]
    public async Task GraphQL_AsTheApp_CarriesTheJwt()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = Enterprise });
        using var request = new HttpRequestMessage(HttpMethod.Post, GraphQL(h)) { Content = JsonContent.Create(new { query = "{ viewer { login } }" }) }.AsApp();

        using var response = await Client(h).SendAsync(request, Timeout);

        // GitHub answers App JWTs on GraphQL with 401; what matters here is that the JWT reached the right endpoint.
        Assert.Equal(FakeCredential.Jwt, h.GitHub.Requests.Single(r => r.Path == "/api/graphql").Credential);
        Assert.Equal(0, h.GitHub.MintCount);
    }

    [Fact]
    public async Task Upload_OnEnterpriseServer_GoesToApiUploadsWithTheInstallationToken()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = Enterprise });
        using var content = new ByteArrayContent("asset bytes"u8.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");

        using var response = await Client(h).PostAsync(new Uri(h.GitHub.ApiBaseUrl, "../uploads/repos/acme/api/releases/7/assets?name=a.bin"), content, Timeout);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(11, (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("size").GetInt32());
        Assert.Equal(FakeCredential.InstallationToken, h.GitHub.Requests.Single(r => r.Path.StartsWith("/api/uploads/", StringComparison.Ordinal)).Credential);
    }

    [Fact]
    public async Task OtherPathsBesideTheApiBase_StillGetNoCredentials()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = Enterprise });

        var ex = await Assert.ThrowsAsync<GitHubCredentialsRefusedException>(() => Client(h).GetAsync(new Uri(h.GitHub.ApiBaseUrl, "../v4/repos/acme/api"), Timeout));

        Assert.StartsWith("Refusing to send GitHub App credentials", ex.Message, StringComparison.Ordinal);
        Assert.Empty(h.GitHub.Requests);
    }

    [Fact]
    public async Task Jwt_OnOldEnterpriseServer_WithAppIdAndClientId_UsesTheAppId()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = Enterprise, NumericIssuerOnly = true },
            s => s["GitHub:ClientId"] = "Iv1.fakeclientid0001");

        using var response = await Client(h).GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(FakeCredential.Jwt, h.GitHub.Requests.Single(r => r.Path == "/app").Credential);
    }

    [Fact]
    public async Task Jwt_IssuerSetToClientId_IsWhatOldEnterpriseServerRefuses()
    {
        await using var h = await StartAsync(new FakeGitHubOptions { PathPrefix = Enterprise, NumericIssuerOnly = true }, s =>
        {
            s["GitHub:ClientId"] = "Iv1.fakeclientid0001";
            s["GitHub:JwtIssuer"] = "ClientId";
        });

        using var response = await Client(h).GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("message").GetString();
        Assert.Equal("'Issuer' claim ('iss') must be an Integer", message);
    }

    [Theory]
    [InlineData("https://api.github.com/", "https://api.github.com/graphql", "https://uploads.github.com/", true)]
    [InlineData("https://api.acme.ghe.com/", "https://api.acme.ghe.com/graphql", "https://uploads.acme.ghe.com/", true)]
    [InlineData("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql", "https://ghe.example.com/api/uploads/", false)]
    [InlineData("http://127.0.0.1:5000/", "http://127.0.0.1:5000/graphql", "http://127.0.0.1:5000/", false)]
    public void Endpoints_FollowTheHostKind(string apiBase, string graphQL, string uploads, bool cloud)
    {
        var endpoints = GitHubEndpoints.For(new Uri(apiBase));

        Assert.Equal(graphQL, endpoints.GraphQL.AbsoluteUri);
        Assert.Equal(uploads, endpoints.UploadsBase.AbsoluteUri);
        Assert.Equal(cloud, endpoints.IsGitHubCloud);
        Assert.True(endpoints.Authorizes(new Uri(graphQL)));
        Assert.False(endpoints.Authorizes(new Uri("https://codeload.github.com/acme/api/legacy.tar.gz/refs/heads/main")));
    }

    [Theory]
    [InlineData("https://api.github.com/", GitHubJwtIssuer.Auto, "Iv1.client")]
    [InlineData("https://api.acme.ghe.com/", GitHubJwtIssuer.Auto, "Iv1.client")]
    [InlineData("https://ghe.example.com/api/v3/", GitHubJwtIssuer.Auto, "12345")]
    [InlineData("https://ghe.example.com/api/v3/", GitHubJwtIssuer.ClientId, "Iv1.client")]
    [InlineData("https://api.github.com/", GitHubJwtIssuer.AppId, "12345")]
    public void JwtIssuer_WithBothIds_FollowsTheSettingAndTheHost(string apiBase, GitHubJwtIssuer setting, string expected)
    {
        var options = new GitHubAppOptions { AppId = 12345, ClientId = "Iv1.client", ApiBaseUrl = new Uri(apiBase), JwtIssuer = setting };

        Assert.Equal(expected, options.Issuer);
    }

    [Theory]
    [InlineData(GitHubJwtIssuer.AppId, "GitHub:AppId")]
    [InlineData(GitHubJwtIssuer.ClientId, "GitHub:ClientId")]
    public void JwtIssuer_NamingAnIdThatIsNotSet_FailsValidation(GitHubJwtIssuer setting, string missingKey)
    {
        var options = new GitHubAppOptions
        {
            AppId = setting == GitHubJwtIssuer.AppId ? null : 12345,
            ClientId = setting == GitHubJwtIssuer.ClientId ? null : "Iv1.client",
            PrivateKey = TestKeys.Pkcs1Pem,
            JwtIssuer = setting,
        };

        var failure = Assert.Single(new GitHubAppOptionsValidator().Validate(null, options).Failures!);

        Assert.Contains("GitHub:JwtIssuer", failure, StringComparison.Ordinal);
        Assert.Contains(missingKey, failure, StringComparison.Ordinal);
    }
}
