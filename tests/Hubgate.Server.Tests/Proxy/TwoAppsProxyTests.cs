using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>
/// The proxy and token vending with two Apps on two hosts: <c>default</c> on a github.com-like fake, <c>ghes</c> on a
/// GitHub Enterprise Server fake (<c>/api/v3</c>, its own key and App id). Both have an installation numbered 1, with
/// different repository ids; each fake refuses the other's JWTs and tokens.
/// </summary>
public sealed class TwoAppsProxyTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "two-apps-admin-key-5c1e";
    private const string GhesKey = "two-apps-ghes-client-key-8d2f";
    private const string DefaultKey = "two-apps-default-client-key-1b7a";
    private const string GhesLimitedKey = "two-apps-ghes-limited-key-4e9c";
    private const string TypoKey = "two-apps-typo-client-key-77aa";
    private const long DotComRepository = 100;
    private const long GhesRepository = 200;
    private const long GhesOtherRepository = 201;

    private FakeGitHubServer _dotCom = null!;
    private FakeGitHubServer _ghes = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        _dotCom = await FakeGitHubServer.StartAsync();
        _ghes = await FakeGitHubServer.StartAsync(new FakeGitHubOptions
        {
            PathPrefix = "/api/v3", OwnKey = true, AppId = 777, ClientId = "Iv1.enterprise00002", Slug = "hubgate-ghes", WebhookSecret = "ghes-webhook-secret-0002",
        });
        _dotCom.AddInstallation(1, "acme");
        _dotCom.AddRepository(1, DotComRepository, "acme", "api");
        _ghes.AddInstallation(1, "corp");
        _ghes.AddRepository(1, GhesRepository, "corp", "tools");
        _ghes.AddRepository(1, GhesOtherRepository, "corp", "secrets");
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = AdminKey,
            ["GitHub:AppId"] = _dotCom.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _dotCom.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = _dotCom.ApiBaseUrl.AbsoluteUri,
            ["GitHub:Apps:ghes:AppId"] = _ghes.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:Apps:ghes:PrivateKey"] = _ghes.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:Apps:ghes:ApiBaseUrl"] = _ghes.ApiBaseUrl.AbsoluteUri,
            ["Hubgate:Clients:ghes-ci:Key"] = GhesKey,
            ["Hubgate:Clients:ghes-ci:App"] = "ghes",
            ["Hubgate:Clients:ghes-ci:AppAccess"] = "read",
            ["Hubgate:Clients:ghes-ci:Tokens"] = "true",
            ["Hubgate:Clients:ci:Key"] = DefaultKey,
            ["Hubgate:Clients:ci:AppAccess"] = "read",
            ["Hubgate:Clients:ci:Tokens"] = "true",
            ["Hubgate:Clients:ghes-limited:Key"] = GhesLimitedKey,
            ["Hubgate:Clients:ghes-limited:App"] = "ghes",
            ["Hubgate:Clients:ghes-limited:Repositories:0"] = GhesRepository.ToString(CultureInfo.InvariantCulture),
            ["Hubgate:Clients:typo:Key"] = TypoKey,
            ["Hubgate:Clients:typo:App"] = "ghse",
        });
    }

    public void Dispose() => _app.Dispose();

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _dotCom.DisposeAsync();
        await _ghes.DisposeAsync();
    }

    private HttpClient Client(string key)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static Uri Url(string path) => new(path, UriKind.Relative);

    private static async Task<JsonElement> Json(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task AssertRefused(HttpResponseMessage response, string rule, string mentions)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        var error = JsonDocument.Parse(body).RootElement;
        Assert.Equal(rule, error.GetProperty("rule").GetString());
        Assert.Contains(mentions, error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Every request a fake saw was made with credentials it accepted: none was another App's.</summary>
    private static void AssertOnlyOwnCredentials(FakeGitHubServer gitHub) =>
        Assert.All(gitHub.Requests, r => Assert.True(r.Status is >= 200 and < 300, $"{r.Method} {r.Path}: {r.Status} ({r.Credential})"));

    [Fact]
    public async Task EachAppsRoutes_ReachItsOwnHost_WithItsOwnCredentialsOnly()
    {
        using var client = Client(AdminKey);

        var dotComRepository = await Json(await client.GetAsync(Url("/proxy/installations/1/repos/acme/api")));
        var ghesRepository = await Json(await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repos/corp/tools")));
        var dotComApp = await Json(await client.GetAsync(Url("/proxy/app/app")));
        var ghesApp = await Json(await client.GetAsync(Url("/proxy/apps/ghes/app/app")));

        Assert.Equal(DotComRepository, dotComRepository.GetProperty("id").GetInt64());
        Assert.Equal(GhesRepository, ghesRepository.GetProperty("id").GetInt64());
        Assert.Equal(_dotCom.AppId, dotComApp.GetProperty("id").GetInt64());
        Assert.Equal(777, ghesApp.GetProperty("id").GetInt64());
        Assert.Single(_dotCom.Requests, r => r.Path == "/repos/acme/api" && r.Credential == FakeCredential.InstallationToken);
        Assert.Single(_ghes.Requests, r => r.Path == "/repos/corp/tools" && r.Credential == FakeCredential.InstallationToken);
        Assert.DoesNotContain(_dotCom.Requests, r => r.Path.Contains("corp", StringComparison.Ordinal));
        Assert.DoesNotContain(_ghes.Requests, r => r.Path.Contains("acme", StringComparison.Ordinal));
        Assert.Single(_dotCom.Mints);
        Assert.Single(_ghes.Mints);
        AssertOnlyOwnCredentials(_dotCom);
        AssertOnlyOwnCredentials(_ghes);
    }

    [Fact]
    public async Task UnknownApp_Is404_NamingIt()
    {
        using var client = Client(AdminKey);

        using var installation = await client.GetAsync(Url("/proxy/apps/staging/installations/1/repos/acme/api"));
        using var app = await client.GetAsync(Url("/proxy/apps/staging/app/app"));

        foreach (var response in new[] { installation, app })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var error = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("'staging'", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Empty(_dotCom.Requests);
        Assert.Empty(_ghes.Requests);
    }

    [Fact]
    public async Task PerAppRoute_IsAsStrictAsTodays_TheAppNameAndPathAsRoutedAreWhatIsSent()
    {
        using var client = Client(AdminKey);

        // An encoded slash in the path is refused as on today's routes; an App route is not an installation route.
        using var encoded = await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repos/corp%2Ftools"));
        using var wrongRoute = await client.GetAsync(Url("/proxy/apps/ghes/installations/1/app/installations"));

        Assert.Equal(HttpStatusCode.BadRequest, encoded.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongRoute.StatusCode);
        Assert.Contains("/proxy/apps/ghes/app/app/installations", await wrongRoute.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(_ghes.Requests);
    }

    [Fact]
    public async Task Links_FromTheAppsHost_PointBackToTheSamePerAppPrefix()
    {
        using var client = Client(AdminKey);

        using var response = await client.GetAsync(Url("/proxy/apps/ghes/installations/1/installation/repositories?per_page=1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var link = string.Join(", ", response.Headers.GetValues("Link"));
        Assert.Contains("/proxy/apps/ghes/installations/1/installation/repositories?per_page=1&page=2>; rel=\"next\"", link, StringComparison.Ordinal);
        Assert.DoesNotContain(_ghes.ApiBaseUrl.Authority, link, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientHeldToGhes_IsRefusedDefaultsRoutes_AndServedOnGhes()
    {
        using var client = Client(GhesKey);

        using var defaultInstallation = await client.GetAsync(Url("/proxy/installations/1/repos/acme/api"));
        using var defaultApp = await client.GetAsync(Url("/proxy/app/app"));
        using var defaultByName = await client.GetAsync(Url("/proxy/apps/default/installations/1/repos/acme/api"));
        var ghesRepository = await Json(await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repos/corp/tools")));
        var ghesApp = await Json(await client.GetAsync(Url("/proxy/apps/ghes/app/app")));

        await AssertRefused(defaultInstallation, "github-app", "Hubgate:Clients:ghes-ci:App");
        await AssertRefused(defaultApp, "github-app", "'ghes'");
        await AssertRefused(defaultByName, "github-app", "'ghes'");
        Assert.Equal(GhesRepository, ghesRepository.GetProperty("id").GetInt64());
        Assert.Equal(777, ghesApp.GetProperty("id").GetInt64());
        Assert.Empty(_dotCom.Requests);
    }

    [Fact]
    public async Task ClientOfDefault_IsRefusedTheOtherAppsRoutes()
    {
        using var client = Client(DefaultKey);

        using var ghes = await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repos/corp/tools"));
        var dotCom = await Json(await client.GetAsync(Url("/proxy/installations/1/repos/acme/api")));

        await AssertRefused(ghes, "github-app", "'default'");
        Assert.Equal(DotComRepository, dotCom.GetProperty("id").GetInt64());
        Assert.Empty(_ghes.Requests);
    }

    [Fact]
    public async Task ClientLimitedToARepository_GetsATokenScopedThroughItsAppsModelRows()
    {
        // The model knows repository 200 on installation 1 of ghes only; default's installation 1 has other ids.
        var databases = _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        await using (var db = await databases.CreateDbContextAsync())
        {
            var now = DateTimeOffset.UtcNow;
            db.Installations.Add(new InstallationEntity { App = "ghes", Id = 1, AccountLogin = "corp", CreatedAt = now, UpdatedAt = now });
            db.Installations.Add(new InstallationEntity { App = "default", Id = 1, AccountLogin = "acme", CreatedAt = now, UpdatedAt = now });
            db.Repositories.Add(new RepositoryEntity { App = "ghes", Id = GhesRepository, InstallationId = 1, Name = "tools", FullName = "corp/tools", CreatedAt = now, UpdatedAt = now });
            db.Repositories.Add(new RepositoryEntity { App = "ghes", Id = GhesOtherRepository, InstallationId = 1, Name = "secrets", FullName = "corp/secrets", CreatedAt = now, UpdatedAt = now });
            db.Repositories.Add(new RepositoryEntity { App = "default", Id = DotComRepository, InstallationId = 1, Name = "api", FullName = "acme/api", CreatedAt = now, UpdatedAt = now });
            await db.SaveChangesAsync();
        }

        using var client = Client(GhesLimitedKey);
        var allowed = await Json(await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repositories/200")));
        using var other = await client.GetAsync(Url("/proxy/apps/ghes/installations/1/repositories/201"));

        Assert.Equal("corp/tools", allowed.GetProperty("full_name").GetString());
        await AssertRefused(other, "repositories", "201");
        Assert.Contains("\"repository_ids\":[200]", Assert.Single(_ghes.Mints).Body, StringComparison.Ordinal);
        Assert.Empty(_dotCom.Mints);
    }

    [Fact]
    public async Task TokenVending_ActsForTheClientsApp_AndThePerAppRouteForTheAppNamed()
    {
        using var ghesClient = Client(GhesKey);
        using var admin = Client(AdminKey);

        var own = await Json(await ghesClient.PostAsync(Url("/api/installations/1/access-tokens"), null));
        var named = await Json(await admin.PostAsync(Url("/api/apps/ghes/installations/1/access-tokens"), null));
        using var other = await ghesClient.PostAsync(Url("/api/apps/default/installations/1/access-tokens"), null);
        using var unknown = await admin.PostAsync(Url("/api/apps/staging/installations/1/access-tokens"), null);

        Assert.Equal(own.GetProperty("token").GetString(), named.GetProperty("token").GetString());
        await AssertRefused(other, "github-app", "'ghes'");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Single(_ghes.Mints);
        Assert.Empty(_dotCom.Mints);
        using var http = new HttpClient { BaseAddress = _ghes.ApiBaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, Url("repos/corp/tools"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", own.GetProperty("token").GetString());
        request.Headers.UserAgent.ParseAdd("hubgate-tests");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
        using var audit = await admin.GetAsync(Url("/api/audit"));
        Assert.All((await Json(audit)).EnumerateArray(), v => Assert.Equal("ghes", v.GetProperty("app").GetString()));
        using var ghesOnly = await admin.GetAsync(Url("/api/audit?app=ghes"));
        using var defaultOnly = await admin.GetAsync(Url("/api/audit?app=default"));
        Assert.Equal(2, (await Json(ghesOnly)).GetArrayLength());
        Assert.Equal(0, (await Json(defaultOnly)).GetArrayLength());
    }

    [Fact]
    public async Task ClientOfAnAppHubgateDoesNotHave_IsWarnedAtStart_AndRefusedEverywhere()
    {
        using var client = Client(TypoKey);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(Url("/proxy/apps/ghse/installations/1/repos/corp/tools"))).StatusCode);
        await AssertRefused(await client.GetAsync(Url("/proxy/installations/1/repos/acme/api")), "github-app", "'ghse'");
        Assert.Contains("Client typo is held to the GitHub App ghse, which is neither configured nor stored", _app.AllLogText(), StringComparison.Ordinal);
        Assert.Empty(_dotCom.Requests);
    }
}
