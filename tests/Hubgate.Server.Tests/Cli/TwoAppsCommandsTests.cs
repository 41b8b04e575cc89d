using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Cli;

/// <summary>
/// <c>--app</c> on the operator commands, with two Apps on two hosts: <c>default</c> on a github.com-like fake and
/// <c>ghes</c> on a GitHub Enterprise Server fake (<c>/api/v3</c>, its own key and App id), both with installation 1.
/// </summary>
public sealed class TwoAppsCommandsTests : IAsyncLifetime
{
    private const string DefaultSecret = "two-apps-cli-secret-default";
    private const string GhesSecret = "two-apps-cli-secret-ghes";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-cli-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _dotCom = null!;
    private FakeGitHubServer _ghes = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _dotCom = await FakeGitHubServer.StartAsync();
        _ghes = await FakeGitHubServer.StartAsync(new FakeGitHubOptions
        {
            PathPrefix = "/api/v3", OwnKey = true, AppId = 777, ClientId = "Iv1.enterprise00003", Slug = "hubgate-ghes", WebhookSecret = GhesSecret,
        });
        _dotCom.AddInstallation(1, "acme");
        _dotCom.AddRepository(1, 100, "acme", "api");
        _ghes.AddInstallation(1, "corp");
        _ghes.AddRepository(1, 200, "corp", "tools");
        TestSecrets.Register(DefaultSecret, "a webhook secret");
        TestSecrets.Register(GhesSecret, "a webhook secret");
    }

    public async Task DisposeAsync()
    {
        await _dotCom.DisposeAsync();
        await _ghes.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TestDatabase.Delete(_directory);
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string?> Settings(string? ghesKey = null)
    {
        var settings = TestDatabase.Settings(_directory);
        settings["GitHub:AppId"] = _dotCom.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:PrivateKey"] = _dotCom.PrivateKeyPkcs1Pem;
        settings["GitHub:ApiBaseUrl"] = _dotCom.ApiBaseUrl.AbsoluteUri;
        settings["GitHub:WebhookSecret"] = DefaultSecret;
        settings["GitHub:Apps:ghes:AppId"] = _ghes.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:Apps:ghes:PrivateKey"] = ghesKey ?? _ghes.PrivateKeyPkcs1Pem;
        settings["GitHub:Apps:ghes:ApiBaseUrl"] = _ghes.ApiBaseUrl.AbsoluteUri;
        settings["GitHub:Apps:ghes:WebhookSecret"] = GhesSecret;
        return settings;
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(Dictionary<string, string?> settings, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(args, settings, new InvocationConfiguration { Output = output, Error = error });
        var (o, e) = (output.ToString(), error.ToString());
        TestSecrets.AssertNoneIn([("an error message", e)], []);
        return (exit, o, e);
    }

    private static async Task<HttpStatusCode> GetWith(FakeGitHubServer gitHub, string token, string path)
    {
        using var http = new HttpClient { BaseAddress = gitHub.ApiBaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
        request.Headers.UserAgent.ParseAdd("hubgate-tests");
        return (await http.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task Token_AppGhes_MintsOnTheGhesHost_AsItsApp()
    {
        var (exit, output, error) = await RunAsync(Settings(), "token", "1", "--app", "ghes");

        Assert.True(exit == 0, error);
        var token = output.Trim();
        Assert.Single(_ghes.Mints);
        Assert.Empty(_dotCom.Mints);
        Assert.Equal(HttpStatusCode.OK, await GetWith(_ghes, token, "repos/corp/tools"));
        var audit = await RunAsync(Settings(), "audit", "--json");
        Assert.Equal("ghes", Assert.Single(JsonDocument.Parse(audit.Output).RootElement.EnumerateArray()).GetProperty("app").GetString());
    }

    [Fact]
    public async Task Audit_App_ListsOnlyThatAppsVends_AndAnUnknownAppIsExit2()
    {
        Assert.Equal(0, (await RunAsync(Settings(), "token", "1", "--app", "ghes")).Exit);
        Assert.Equal(0, (await RunAsync(Settings(), "token", "1")).Exit);

        var all = await RunAsync(Settings(), "audit", "--json");
        var ghes = await RunAsync(Settings(), "audit", "--app", "ghes", "--json");
        var unknown = await RunAsync(Settings(), "audit", "--app", "staging");

        Assert.Equal(["default", "ghes"], JsonDocument.Parse(all.Output).RootElement.EnumerateArray().Select(v => v.GetProperty("app").GetString()).Order());
        Assert.Equal("ghes", Assert.Single(JsonDocument.Parse(ghes.Output).RootElement.EnumerateArray()).GetProperty("app").GetString());
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("Known Apps: default, ghes", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_UnknownApp_Exit2_ListingTheKnownApps()
    {
        var (exit, output, error) = await RunAsync(Settings(), "token", "1", "--app", "staging");

        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Contains("--app staging", error, StringComparison.Ordinal);
        Assert.Contains("Known Apps: default, ghes", error, StringComparison.Ordinal);
        Assert.Empty(_dotCom.Mints);
        Assert.Empty(_ghes.Mints);
    }

    [Fact]
    public async Task Check_ReportsEveryApp_EachAcceptedByItsOwnHost()
    {
        var settings = Settings();
        Assert.Equal(0, (await RunAsync(settings, "migrate")).Exit);

        var (exit, output, error) = await RunAsync(settings, "check", "--json");

        Assert.True(exit == 0, output + error);
        var checks = JsonDocument.Parse(output).RootElement.GetProperty("checks").EnumerateArray().ToList();
        foreach (var (app, host, id) in new[] { ("default", _dotCom, _dotCom.AppId), ("ghes", _ghes, 777L) })
        {
            var own = checks.Where(c => c.GetProperty("app").GetString() == app).ToDictionary(c => c.GetProperty("name").GetString()!, c => c);
            Assert.Equal(["GitHub App id", "Private key", "Webhook secret", "GitHub API"], own.Keys);
            Assert.All(own.Values, c => Assert.True(c.GetProperty("ok").GetBoolean(), c.GetProperty("detail").GetString()));
            Assert.Contains($"App id {id}", own["GitHub App id"].GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Contains(host.ApiBaseUrl.AbsoluteUri, own["GitHub API"].GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Single(_dotCom.Requests, r => r.Path == "/app" && r.Status == 200);
        Assert.Single(_ghes.Requests, r => r.Path == "/app" && r.Status == 200);
    }

    [Fact]
    public async Task Check_AppWhoseKeyTheHostRefuses_Fails_NamingThatApp()
    {
        // ghes configured with the github.com App's key: a usable RSA key that the GHES host does not take.
        var settings = Settings(ghesKey: _dotCom.PrivateKeyPkcs1Pem);
        Assert.Equal(0, (await RunAsync(settings, "migrate")).Exit);

        var (exit, output, _) = await RunAsync(settings, "check", "--json");
        var text = await RunAsync(settings, "check");

        Assert.Equal(1, exit);
        var checks = JsonDocument.Parse(output).RootElement.GetProperty("checks").EnumerateArray().ToList();
        var failed = Assert.Single(checks, c => !c.GetProperty("ok").GetBoolean());
        Assert.Equal(("ghes", "GitHub API"), (failed.GetProperty("app").GetString(), failed.GetProperty("name").GetString()));
        Assert.Contains("answered 401", failed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("App 'ghes'", failed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, text.Exit);
        Assert.Contains("App ghes", text.Output, StringComparison.Ordinal);
        Assert.Contains("App default", text.Output, StringComparison.Ordinal);
        Assert.Contains("1 problem(s) found. Apps with problems: ghes.", text.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_AppOption_ChecksOnlyThatApp()
    {
        var settings = Settings();
        Assert.Equal(0, (await RunAsync(settings, "migrate")).Exit);

        var (exit, output, _) = await RunAsync(settings, "check", "--json", "--app", "ghes");

        Assert.Equal(0, exit);
        var apps = JsonDocument.Parse(output).RootElement.GetProperty("checks").EnumerateArray()
            .Select(c => c.GetProperty("app").GetString()).Where(a => a is not null).Distinct();
        Assert.Equal(["ghes"], apps);
        Assert.DoesNotContain(_dotCom.Requests, r => r.Path == "/app");
    }

    [Fact]
    public async Task Sync_AppGhes_ListsOnlyTheGhesHostsInstallations()
    {
        var (exit, output, error) = await RunAsync(Settings(), "sync", "--app", "ghes", "--json");

        Assert.True(exit == 0, error);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.Equal(1, report.GetProperty("installationsSeen").GetInt32());
        Assert.Equal(1, report.GetProperty("repositoriesAdded").GetInt32());
        Assert.Contains(_ghes.Requests, r => r.Path == "/app/installations" && r.Status == 200);
        Assert.Contains(_ghes.Requests, r => r.Path == "/installation/repositories" && r.Status == 200);
        Assert.Empty(_dotCom.Requests);
        var installations = await RunAsync(Settings(), "sync", "--app", "default", "--json");
        Assert.Equal(1, JsonDocument.Parse(installations.Output).RootElement.GetProperty("installationsAdded").GetInt32());
    }

    [Fact]
    public async Task ClientsAdd_AppGhes_StoresTheClientHeldToIt_AndAnUnknownAppIsRefusedListingTheKnownOnes()
    {
        var (exit, _, error) = await RunAsync(Settings(), "clients", "add", "deploy", "--app", "ghes", "--app-access", "read");
        var unknown = await RunAsync(Settings(), "clients", "add", "other", "--app", "staging");
        var list = await RunAsync(Settings(), "clients", "list", "--json");

        Assert.True(exit == 0, error);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("Known Apps: default, ghes", unknown.Error, StringComparison.Ordinal);
        var deploy = Assert.Single(JsonDocument.Parse(list.Output).RootElement.EnumerateArray());
        Assert.Equal(("deploy", "ghes", "read"),
            (deploy.GetProperty("name").GetString(), deploy.GetProperty("app").GetString(), deploy.GetProperty("appAccess").GetString()));
    }

    [Fact]
    public async Task DeliveriesList_WithApp_ShowsThatAppsDeliveriesOnly_AndNamesAnUnknownApp()
    {
        var settings = Settings();
        await using var server = await ServerProcess.StartAsync(settings);
        var fixture = Path.Combine(WebhookFixtures.Directory, "ping", "payload.json");
        var hooks = new Uri(server.BaseAddress, "/webhooks/github").AbsoluteUri;
        Assert.Equal(0, (await RunAsync(settings, "send", fixture, "--event", "ping", "--delivery-id", "same-id-both-apps", "--url", hooks)).Exit);
        Assert.Equal(0, (await RunAsync(settings, "send", fixture, "--event", "ping", "--delivery-id", "same-id-both-apps", "--app", "ghes", "--url", hooks + "/ghes")).Exit);

        var ghes = JsonDocument.Parse((await RunAsync(settings, "deliveries", "list", "--app", "ghes", "--json")).Output).RootElement;
        var all = await RunAsync(settings, "deliveries", "list");
        var unknown = await RunAsync(settings, "deliveries", "list", "--app", "nope");

        Assert.Equal("ghes", Assert.Single(ghes.EnumerateArray()).GetProperty("app").GetString());
        Assert.Contains("2 deliveries.", all.Output, StringComparison.Ordinal);
        Assert.Equal(2, unknown.Exit);
        Assert.Contains("Known Apps: default, ghes", unknown.Error, StringComparison.Ordinal);
    }
}
