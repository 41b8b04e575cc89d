using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Access;

/// <summary>
/// Clients limited to repositories or permissions are served through the proxy with installation tokens minted for
/// exactly their scope (the fake GitHub records each mint's body and enforces the scope as GitHub does), and may have
/// such tokens vended within their policy, each vend audited.
/// </summary>
public sealed class ScopedTokenTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "scoped-admin-key-5e12";
    private const string CiKey = "scoped-ci-key-0c44";
    private const string TwinKey = "scoped-twin-key-8b90";
    private const string ReaderKey = "scoped-reader-key-2f61";
    private const string VendorKey = "scoped-vendor-key-71d3";
    private const string GoneKey = "scoped-gone-key-a4b8";
    private const string GreedyKey = "scoped-greedy-key-3c09";
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await AccessTestModel.StartGitHubAsync();
        _gitHub.GrantPermission(1, "contents", "write");
        _gitHub.GrantPermission(1, "issues", "write");
        _app = new HubgateApplication(Settings());
        await AccessTestModel.SeedAsync(_app);
        _gitHub.ResetRequests();
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    private Dictionary<string, string?> Settings() => new Dictionary<string, string?>
    {
        ["Hubgate:ApiKey"] = AdminKey,
        // ci and twin: the same scope, written differently (order, case).
        ["Hubgate:Clients:ci:Key"] = CiKey,
        ["Hubgate:Clients:ci:Repositories:0"] = "acme/api",
        ["Hubgate:Clients:ci:Repositories:1"] = "102",
        ["Hubgate:Clients:ci:Permissions:contents"] = "read",
        ["Hubgate:Clients:ci:Permissions:issues"] = "write",
        ["Hubgate:Clients:twin:Key"] = TwinKey,
        ["Hubgate:Clients:twin:Repositories:0"] = "102",
        ["Hubgate:Clients:twin:Repositories:1"] = "ACME/Api",
        ["Hubgate:Clients:twin:Permissions:Issues"] = "WRITE",
        ["Hubgate:Clients:twin:Permissions:contents"] = "read",
        // reader: every repository, read-only contents.
        ["Hubgate:Clients:reader:Key"] = ReaderKey,
        ["Hubgate:Clients:reader:Permissions:contents"] = "read",
        ["Hubgate:Clients:reader:Permissions:metadata"] = "read",
        // vendor: may have tokens vended for two repositories with contents up to write.
        ["Hubgate:Clients:vendor:Key"] = VendorKey,
        ["Hubgate:Clients:vendor:Installations:0"] = "1",
        ["Hubgate:Clients:vendor:Repositories:0"] = "acme/api",
        ["Hubgate:Clients:vendor:Repositories:1"] = "acme/web",
        ["Hubgate:Clients:vendor:Permissions:contents"] = "write",
        ["Hubgate:Clients:vendor:Tokens"] = "true",
        // Policies naming what the installation does not have: GitHub refuses to mint them.
        ["Hubgate:Clients:gone:Key"] = GoneKey,
        ["Hubgate:Clients:gone:Repositories:0"] = "acme/archived",
        ["Hubgate:Clients:greedy:Key"] = GreedyKey,
        ["Hubgate:Clients:greedy:Permissions:administration"] = "write",
    }.WithGitHub(_gitHub);


    private HttpClient Client(string key) => _app.Client(key);

    private async Task<(HttpStatusCode Status, JsonElement Body)> Send(string key, string method, string path, string? json = null)
    {
        using var client = Client(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
    }

    private static JsonElement Parse(string json) => JsonSerializer.Deserialize<JsonElement>(json);

    [Fact]
    public async Task LimitedClient_IsServedWithATokenMintedForExactlyItsScope()
    {
        var (status, _) = await Send(CiKey, "GET", "/proxy/installations/1/repos/acme/api");

        Assert.Equal(HttpStatusCode.OK, status);
        var mint = Assert.Single(_gitHub.Mints);
        Assert.Equal(1, mint.InstallationId);
        var body = Parse(mint.Body);
        Assert.Equal(["api"], body.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal([102L], body.GetProperty("repository_ids").EnumerateArray().Select(r => r.GetInt64()));
        Assert.Equal("read", body.GetProperty("permissions").GetProperty("contents").GetString());
        Assert.Equal("write", body.GetProperty("permissions").GetProperty("issues").GetString());
    }

    [Fact]
    public async Task UnlimitedClient_IsServedWithTheInstallationsOwnToken()
    {
        var (status, _) = await Send(AdminKey, "GET", "/proxy/installations/1/repos/acme/web");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(string.Empty, Assert.Single(_gitHub.Mints).Body);
    }

    [Fact]
    public async Task RoutesOutsideRepos_AreHeldByTheTokensScope_ListingOnlyThePolicysRepositories()
    {
        var (status, body) = await Send(CiKey, "GET", "/proxy/installations/1/installation/repositories");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["acme/api", "acme/docs"], body.GetProperty("repositories").EnumerateArray().Select(r => r.GetProperty("full_name").GetString()).Order());
    }

    [Theory]
    [InlineData("GET", "/proxy/installations/1/repos/acme/api/contents/README.md", null, HttpStatusCode.OK)]
    [InlineData("PUT", "/proxy/installations/1/repos/acme/api/contents/README.md", "{\"message\":\"m\",\"content\":\"eA==\"}", HttpStatusCode.Forbidden)]
    [InlineData("POST", "/proxy/installations/1/repos/acme/docs/issues", "{\"title\":\"t\"}", HttpStatusCode.Created)]
    [InlineData("GET", "/proxy/installations/1/repositories/102", null, HttpStatusCode.OK)]
    public async Task PermissionsOfThePolicy_AreWhatGitHubAllows(string method, string path, string? json, HttpStatusCode expected)
    {
        var (status, body) = await Send(CiKey, method, path, json);

        Assert.Equal(expected, status);
        if (expected == HttpStatusCode.Forbidden)
        {
            Assert.Equal("Resource not accessible by integration", body.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task PermissionsOnlyClient_ReachesEveryRepository_ButWritesNothing()
    {
        var read = await Send(ReaderKey, "GET", "/proxy/installations/1/repos/acme/web/contents/a.txt");
        var write = await Send(ReaderKey, "PUT", "/proxy/installations/1/repos/acme/web/contents/a.txt", "{\"message\":\"m\",\"content\":\"eA==\"}");
        var issue = await Send(ReaderKey, "POST", "/proxy/installations/1/repos/acme/web/issues", "{\"title\":\"t\"}");

        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(HttpStatusCode.Forbidden, write.Status);
        Assert.Equal(HttpStatusCode.Forbidden, issue.Status);
        var body = Parse(Assert.Single(_gitHub.Mints).Body);
        Assert.False(body.TryGetProperty("repositories", out _));
        Assert.Equal(2, body.GetProperty("permissions").EnumerateObject().Count());
    }

    [Theory]
    [InlineData("/proxy/installations/1/repos/acme/web")]
    [InlineData("/proxy/installations/1/repositories/101/issues")]
    public async Task RepositoryOutsideThePolicy_IsRefused_AndReachesGitHubZeroTimes(string path)
    {
        var (status, body) = await Send(CiKey, "GET", path);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("repositories", body.GetProperty("rule").GetString());
        Assert.Empty(_gitHub.Requests);
        Assert.Empty(_gitHub.Mints);
    }

    [Fact]
    public async Task ClientWithNoRepositoryOnTheInstallation_IsRefused_BeforeAnyMint()
    {
        var (status, body) = await Send(CiKey, "GET", "/proxy/installations/2/installation/repositories");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("repositories", body.GetProperty("rule").GetString());
        Assert.Empty(_gitHub.Requests);
    }

    [Fact]
    public async Task SameScope_SharesOneToken_MintedOnce_UnderConcurrency()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Send(i % 2 == 0 ? CiKey : TwinKey, "GET", "/proxy/installations/1/repos/acme/api")));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(_gitHub.Mints);
    }

    [Fact]
    public async Task DifferentScopes_GetDifferentTokens()
    {
        await Send(CiKey, "GET", "/proxy/installations/1/repos/acme/api");
        await Send(ReaderKey, "GET", "/proxy/installations/1/repos/acme/api");
        await Send(AdminKey, "GET", "/proxy/installations/1/repos/acme/api");

        Assert.Equal(3, _gitHub.Mints.Select(m => m.Body).Distinct().Count());
        Assert.Equal(3, _gitHub.IssuedTokens.Count);
    }

    [Theory]
    [InlineData(GoneKey, "archived")]
    [InlineData(GreedyKey, "administration:write")]
    public async Task ScopeGitHubRefuses_Is403NamingWhatWasAsked_NotA502(string key, string named)
    {
        var (status, body) = await Send(key, "GET", "/proxy/installations/1/installation/repositories");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("scope", body.GetProperty("rule").GetString());
        Assert.Contains(named, body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(422, Assert.Single(_gitHub.Mints).Status);
    }

    [Fact]
    public async Task ScopedToken_IsPersistedEncrypted_AndReusedAfterARestartOfTheCache()
    {
        await Send(CiKey, "GET", "/proxy/installations/1/repos/acme/api");
        var token = Assert.Single(_gitHub.IssuedTokens);

        var databases = _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        await using var db = await databases.CreateDbContextAsync();
        var row = Assert.Single(await db.ScopedTokens.AsNoTracking().ToListAsync());
        Assert.Equal(1, row.InstallationId);
        Assert.Equal("repositories=api;repository_ids=102;permissions=contents:read,issues:write", row.ScopeKey);
        Assert.DoesNotContain(token, row.TokenCiphertext, StringComparison.Ordinal);
        Assert.Null(await db.Installations.Where(i => i.Id == 1).Select(i => i.TokenCiphertext).SingleAsync());
    }

    [Fact]
    public async Task Vending_WithinThePolicy_ReturnsATokenThatReachesOnlyWhatWasAsked()
    {
        var (status, body) = await Send(VendorKey, "POST", "/api/installations/1/access-tokens",
            "{\"repositories\":[\"acme/api\"],\"permissions\":{\"contents\":\"read\"}}");

        Assert.Equal(HttpStatusCode.Created, status);
        var token = body.GetProperty("token").GetString()!;
        Assert.Equal(["api"], body.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("{\"repositories\":[\"api\"],\"permissions\":{\"contents\":\"read\"}}", Assert.Single(_gitHub.Mints).Body);
        using var direct = new HttpClient { BaseAddress = _gitHub.ApiBaseUrl };
        direct.DefaultRequestHeaders.UserAgent.ParseAdd("test/1");
        direct.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await direct.GetAsync(new Uri("repos/acme/api", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await direct.GetAsync(new Uri("repos/acme/web", UriKind.Relative))).StatusCode);
        Assert.DoesNotContain(token, _app.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vending_WithNothingAsked_IsThePolicysOwnScope()
    {
        var (status, _) = await Send(VendorKey, "POST", "/api/installations/1/access-tokens", "{}");

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("{\"repositories\":[\"api\",\"web\"],\"permissions\":{\"contents\":\"write\"}}", Assert.Single(_gitHub.Mints).Body);
    }

    [Theory]
    [InlineData(VendorKey, "/api/installations/1/access-tokens", "{\"repositories\":[\"acme/docs\"]}", "repositories")]
    [InlineData(VendorKey, "/api/installations/1/access-tokens", "{\"repository_ids\":[102]}", "repositories")]
    [InlineData(VendorKey, "/api/installations/1/access-tokens", "{\"permissions\":{\"contents\":\"admin\"}}", "permissions")]
    [InlineData(VendorKey, "/api/installations/1/access-tokens", "{\"permissions\":{\"issues\":\"read\"}}", "permissions")]
    [InlineData(VendorKey, "/api/installations/2/access-tokens", "{}", "installations")]
    [InlineData(CiKey, "/api/installations/1/access-tokens", "{}", "tokens")]
    [InlineData(VendorKey, "/api/installations", null, "admin")]
    [InlineData(VendorKey, "/api/audit", null, "admin")]
    public async Task Vending_BeyondThePolicy_Is403NamingTheRule_AndMintsNothing(string key, string path, string? json, string rule)
    {
        var (status, body) = await Send(key, json is null ? "GET" : "POST", path, json);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(rule, body.GetProperty("rule").GetString());
        Assert.Empty(_gitHub.Requests);
    }

    [Fact]
    public async Task EveryVend_IsInTheAudit_WithoutTheToken()
    {
        var (_, first) = await Send(VendorKey, "POST", "/api/installations/1/access-tokens", "{\"repositories\":[\"web\"]}");
        var (_, second) = await Send(AdminKey, "POST", "/api/installations/2/access-tokens", null);

        var (status, audit) = await Send(AdminKey, "GET", "/api/audit");

        Assert.Equal(HttpStatusCode.OK, status);
        var rows = audit.EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("admin", rows[0].GetProperty("client").GetString());
        Assert.Equal(2, rows[0].GetProperty("installationId").GetInt64());
        Assert.Equal(string.Empty, rows[0].GetProperty("scope").GetString());
        Assert.Equal("vendor", rows[1].GetProperty("client").GetString());
        Assert.Equal("repositories=web;repository_ids=;permissions=contents:write", rows[1].GetProperty("scope").GetString());
        Assert.True(rows[1].GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);
        var text = audit.GetRawText();
        Assert.DoesNotContain(first.GetProperty("token").GetString()!, text, StringComparison.Ordinal);
        Assert.DoesNotContain(second.GetProperty("token").GetString()!, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vends_AreCountedByClient_WithoutTokens()
    {
        var (_, vended) = await Send(VendorKey, "POST", "/api/installations/1/access-tokens", "{}");

        using var client = _app.CreateClient();
        const string Counted = "hubgate_token_vends_total{[^}]*client=\"vendor\"[^}]*} 1";
        var metrics = "";
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(15) && !Regex.IsMatch(metrics, Counted); await Task.Delay(200))
        {
            metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        }

        Assert.Matches(Counted, metrics);
        Assert.DoesNotContain(vended.GetProperty("token").GetString()!, metrics, StringComparison.Ordinal);
    }
}
