using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
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
/// Named clients and their policies through the real proxy and API in front of the fake GitHub: what a policy grants
/// goes through, anything else is 403 naming the rule, and GitHub never sees it.
/// </summary>
public sealed class ClientPolicyTests : IAsyncLifetime, IDisposable
{
    private const string AdminKey = "policy-admin-key-0a71";
    private const string CiKey = "policy-ci-key-6d20";
    private const string ReaderKey = "policy-reader-key-93fe";
    private const string OpsKey = "policy-ops-key-1b4c";
    private const string DashKey = "policy-dash-key-77e0";
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        TestSecrets.Register(OpsKey, "a client's key (configured by its hash)");
        _gitHub = await AccessTestModel.StartGitHubAsync();
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
        ["Hubgate:Clients:ci:Key"] = CiKey,
        ["Hubgate:Clients:ci:Installations:0"] = "1",
        ["Hubgate:Clients:ci:Repositories:0"] = "acme/api",
        ["Hubgate:Clients:ci:Repositories:1"] = "102",
        ["Hubgate:Clients:reader:Key"] = ReaderKey,
        ["Hubgate:Clients:reader:AppAccess"] = "read",
        ["Hubgate:Clients:ops:KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(OpsKey))),
        ["Hubgate:Clients:ops:Installations:0"] = "globex",
        ["Hubgate:Clients:ops:AppAccess"] = "admin",
        ["Hubgate:Clients:dash:Key"] = DashKey,
        ["Hubgate:Clients:dash:Admin"] = "true",
    }.WithGitHub(_gitHub);


    private HttpClient Client(string key) => _app.Client(key);

    private async Task<HttpResponseMessage> Send(string key, string method, string path)
    {
        using var client = Client(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (method is "POST" or "PATCH")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }

    private async Task AssertRefused(HttpResponseMessage response, string rule)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {text}");
        var body = JsonSerializer.Deserialize<JsonElement>(text);
        Assert.Equal(rule, body.GetProperty("rule").GetString());
        Assert.Contains($":{char.ToUpperInvariant(rule[0])}{rule[1..]}", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(_gitHub.Requests);
    }

    [Theory]
    [InlineData("GET", "/proxy/installations/2/repos/globex/site")]
    [InlineData("GET", "/proxy/installations/1/installation/repositories")]
    [InlineData("GET", "/proxy/app/app/installations")]
    [InlineData("POST", "/proxy/app/app/installations/2/access_tokens")]
    [InlineData("GET", "/api/installations")]
    public async Task TheApiKey_IsTheAdminClient_WithEveryRight(string method, string path)
    {
        var response = await Send(AdminKey, method, path);

        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData("/proxy/installations/1/repos/acme/api")] // listed by name
    [InlineData("/proxy/installations/1/repos/ACME/Api")] // names are case-insensitive, as on GitHub
    [InlineData("/proxy/installations/1/repos/acme/docs")] // listed by id 102
    public async Task RepositoryInThePolicy_IsForwarded(string path)
    {
        var response = await Send(CiKey, "GET", path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_gitHub.Requests, r => r.Path.StartsWith("/repos/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/proxy/installations/1/repositories/102")]
    [InlineData("/proxy/installations/1/repositories/100/issues")] // listed by name acme/api
    public async Task RepositoryByIdInThePolicy_ReachesGitHub(string path)
    {
        await Send(CiKey, "GET", path);

        Assert.Single(_gitHub.Requests, r => r.Path == path["/proxy/installations/1".Length..]);
    }

    [Theory]
    [InlineData("GET", "/proxy/installations/1/repos/acme/web", "repositories")]
    [InlineData("POST", "/proxy/installations/1/repos/acme/web/issues", "repositories")]
    [InlineData("GET", "/proxy/installations/1/repositories/101", "repositories")]
    [InlineData("GET", "/proxy/installations/2/repos/globex/site", "installations")]
    [InlineData("GET", "/proxy/app/app/installations", "app")]
    [InlineData("GET", "/api/installations", "admin")]
    public async Task OutsideThePolicy_Is403NamingTheRule_AndNothingReachesGitHub(string method, string path, string rule)
    {
        var response = await Send(CiKey, method, path);

        await AssertRefused(response, rule);
    }

    [Fact]
    public async Task AppRead_AllowsGetsOnAppRoutes()
    {
        var list = await Send(ReaderKey, "GET", "/proxy/app/app/installations");
        var byRepository = await Send(ReaderKey, "GET", "/proxy/app/repos/acme/api/installation");

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byRepository.StatusCode);
        Assert.All(_gitHub.Requests, r => Assert.Equal(FakeCredential.Jwt, r.Credential));
    }

    [Theory]
    [InlineData("POST", "/proxy/app/app/installations/1/access_tokens")]
    [InlineData("PATCH", "/proxy/app/app/hook/config")]
    [InlineData("DELETE", "/proxy/app/app/installations/1")]
    [InlineData("PUT", "/proxy/app/app/installations/1/suspended")]
    public async Task AppRead_RefusesEverythingElse(string method, string path)
    {
        var response = await Send(ReaderKey, method, path);

        await AssertRefused(response, "app");
        Assert.Equal(0, _gitHub.MintCount);
    }

    [Fact]
    public async Task AppAdmin_MintsForItsInstallations_ByAccountLogin_AndNoOther()
    {
        var own = await Send(OpsKey, "POST", "/proxy/app/app/installations/2/access_tokens");
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Send(OpsKey, "GET", "/proxy/installations/2/repos/globex/site")).StatusCode);
        _gitHub.ResetRequests();

        await AssertRefused(await Send(OpsKey, "POST", "/proxy/app/app/installations/1/access_tokens"), "installations");
        await AssertRefused(await Send(OpsKey, "GET", "/proxy/installations/1/repos/acme/api"), "installations");
    }

    [Fact]
    public async Task AdminRight_GuardsTheApi()
    {
        using var dash = Client(DashKey);
        Assert.Equal(HttpStatusCode.OK, (await dash.GetAsync(new Uri("/api/installations", UriKind.Relative))).StatusCode);
        await AssertRefused(await Send(ReaderKey, "GET", "/api/installations"), "admin");
    }

    [Theory]
    [InlineData(CiKey, false)]
    [InlineData(DashKey, true)]
    public async Task DashboardSignIn_NeedsTheAdminRight(string key, bool signedIn)
    {
        using var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var form = await client.GetStringAsync(new Uri("/signin", UriKind.Relative));
        var antiforgery = Regex.Match(form, "type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]+)\"");

        var response = await client.PostAsync(new Uri("/signin", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["apiKey"] = key,
            [antiforgery.Groups[1].Value] = antiforgery.Groups[2].Value,
        }));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(signedIn ? "/" : "/signin?failed=1", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task RequestsAndRefusals_AreCountedPerClient_WithoutKeys()
    {
        await Send(CiKey, "GET", "/proxy/installations/1/repos/acme/api");
        await Send(CiKey, "GET", "/proxy/installations/2/repos/globex/site");

        using var client = _app.CreateClient();
        const string Proxied = "hubgate_proxy_requests_total\\{[^\\n]*client=\"ci\",installation=\"1\",method=\"GET\",route=\"/repos/\\{owner}/\\{repo}\",status=\"200\"} 1";
        const string Refused = "hubgate_access_refusals_total\\{[^}]*client=\"ci\"[^}]*rule=\"installations\"[^}]*\\} 1";
        var metrics = "";
        for (var clock = System.Diagnostics.Stopwatch.StartNew();
             clock.Elapsed < TimeSpan.FromSeconds(15) && !(Regex.IsMatch(metrics, Proxied) && Regex.IsMatch(metrics, Refused));
             await Task.Delay(200))
        {
            metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        }

        Assert.True(Regex.IsMatch(metrics, Proxied) && Regex.IsMatch(metrics, Refused),
            string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("hubgate_proxy", StringComparison.Ordinal) || l.StartsWith("hubgate_access", StringComparison.Ordinal))));
        Assert.Contains(_app.Logs.GetSnapshot(), r => r.Id.Id == 411 && r.StructuredState!.Any(kv => kv.Key == "Client" && kv.Value == "ci"));
        Assert.DoesNotContain(CiKey, metrics, StringComparison.Ordinal);
    }
}
