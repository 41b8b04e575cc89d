using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Setup;

/// <summary>
/// Apps created from a manifest and added at run time, over HTTP against the fake GitHub: the manifest Hubgate posts,
/// GitHub's return checked against the server-side state (forged, replayed, expired, from another browser: 400), the App
/// stored encrypted and acting at once; <c>/api/apps</c> and <c>hubgate apps</c>; the setup callback asking GitHub about
/// an installation rather than trusting the query string.
/// </summary>
public sealed partial class AppSetupTests : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "app-setup-admin-key-77c2";
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _app = new HubgateApplication(Settings(("Hubgate:PublicUrl", "http://localhost/")));
    }

    /// <summary>The fake's primary App as <c>default</c>, and the admin key.</summary>
    private Dictionary<string, string?> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:RunWorker"] = "false",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    /// <summary>A browser of its own: cookies kept, redirects not followed.</summary>
    private HttpClient Browser() => _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private HttpClient Admin()
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        return client;
    }

    /// <summary>Starts a flow through the API (on <paramref name="host"/>, by default the fake github.com); the start page's path and query.</summary>
    private async Task<string> StartAsync(string name, string? organization = null, FakeGitHubServer? host = null)
    {
        host ??= _gitHub;
        using var admin = Admin();
        var response = await admin.PostAsJsonAsync("/api/apps/manifests",
            new { name, organization, host = host.WebBaseUrl.AbsoluteUri, apiBaseUrl = host.ApiBaseUrl.AbsoluteUri });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return new Uri(JsonSerializer.Deserialize<JsonElement>(text).GetProperty("startUrl").GetString()!).PathAndQuery;
    }

    /// <summary>Opens the start page in <paramref name="browser"/> and posts its form to the fake as the browser would; GitHub's return address.</summary>
    private static async Task<string> PostManifestAsync(HttpClient browser, string startPath)
    {
        var page = await browser.GetAsync(new Uri(startPath, UriKind.Relative));
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, html);
        var action = WebUtility.HtmlDecode(FormAction().Match(html).Groups[1].Value);
        var fields = Hidden().Matches(html).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        using var github = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var answer = await github.PostAsync(new Uri(action), new FormUrlEncodedContent(fields));
        Assert.True(answer.StatusCode == HttpStatusCode.Found, await answer.Content.ReadAsStringAsync());
        return answer.Headers.Location!.PathAndQuery;
    }

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\" id=\"manifest\">")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"([a-z]+)\" value=\"([^\"]*)\">")]
    private static partial Regex Hidden();

    private static async Task<(HttpStatusCode Status, string Html)> GetAsync(HttpClient browser, string path)
    {
        var response = await browser.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GitHub's return at <paramref name="path"/> is refused with a 400 page saying <paramref name="why"/>, and no App is stored beyond <paramref name="apps"/>.</summary>
    private async Task AssertRefusedAsync(HttpClient browser, string path, string why, int apps = 0)
    {
        var (status, html) = await GetAsync(browser, path);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(why, html, StringComparison.Ordinal);
        Assert.Equal(apps, await DbAsync(db => db.Apps.CountAsync()));
    }

    private async Task<T> DbAsync<T>(Func<HubgateDbContext, Task<T>> read)
    {
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await read(db);
    }

    [Fact]
    public async Task ManifestFlow_PostsHubgatesManifest_StoresTheAppEncrypted_AndTheAppActsAtOnce()
    {
        using var browser = Browser();
        var callback = await PostManifestAsync(browser, await StartAsync("staging"));
        var (status, html) = await GetAsync(browser, callback);

        Assert.True(status == HttpStatusCode.OK, html);
        var created = _gitHub.Apps.Single(a => a.Name == "staging");
        Assert.Contains($"<td id=\"slug\">{created.Slug}</td>", html, StringComparison.Ordinal);
        Assert.Contains($"{_gitHub.WebBaseUrl.AbsoluteUri}apps/{created.Slug}/installations/new", html, StringComparison.Ordinal);

        // The manifest GitHub received: Hubgate's URLs for this App, the model's permissions and events, private.
        var manifest = JsonSerializer.Deserialize<JsonElement>(Assert.Single(_gitHub.ManifestRequests).Manifest!);
        Assert.Equal("http://localhost/webhooks/github/staging", manifest.GetProperty("hook_attributes").GetProperty("url").GetString());
        Assert.Equal("http://localhost/setup/apps/callback", manifest.GetProperty("redirect_url").GetString());
        Assert.Equal("http://localhost/setup/installations/callback?app=staging", manifest.GetProperty("setup_url").GetString());
        Assert.Equal("http://localhost/", manifest.GetProperty("url").GetString());
        Assert.False(manifest.GetProperty("public").GetBoolean());
        Assert.Equal("read", manifest.GetProperty("default_permissions").GetProperty("contents").GetString());
        Assert.Contains("push", manifest.GetProperty("default_events").EnumerateArray().Select(e => e.GetString()));

        // Stored with its secrets encrypted (the host's secret scan also reads the database file on disposal).
        var row = await DbAsync(db => db.Apps.SingleAsync(a => a.Name == "staging"));
        Assert.Equal(created.Id, row.AppId);
        Assert.DoesNotContain("PRIVATE KEY", row.PrivateKeyCiphertext, StringComparison.Ordinal);
        Assert.DoesNotContain(created.WebhookSecret, row.WebhookSecretsCiphertext!, StringComparison.Ordinal);

        // It acts at once, with no restart: GitHub's setup return for its installation is answered with its JWT and token.
        _gitHub.InstallApp(created.Id, 7, "acme");
        _gitHub.AddRepository(7, 700, "acme", "svc");
        (status, html) = await GetAsync(browser, "/setup/installations/callback?installation_id=7&setup_action=install&app=staging");
        Assert.True(status == HttpStatusCode.OK, html);
        Assert.Contains("Installation 7 of App staging is registered", html, StringComparison.Ordinal);
        Assert.Equal("acme", await DbAsync(db => db.Installations.Where(i => i.App == "staging" && i.Id == 7).Select(i => i.AccountLogin).SingleAsync()));
        Assert.True(await DbAsync(db => db.Repositories.AnyAsync(r => r.App == "staging" && r.Id == 700)));
    }

    [Fact]
    public async Task ManifestReturn_Replayed_IsRefused()
    {
        using var browser = Browser();
        var callback = await PostManifestAsync(browser, await StartAsync("once"));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(browser, callback)).Status);

        await AssertRefusedAsync(browser, callback, "used already", apps: 1);
    }

    [Fact]
    public async Task ManifestReturn_WithAForgedState_IsRefused_AndGitHubIsNotAsked()
    {
        using var browser = Browser();
        var callback = await PostManifestAsync(browser, await StartAsync("forged"));
        var code = Regex.Match(callback, "code=([^&]+)").Groups[1].Value;

        await AssertRefusedAsync(browser, $"/setup/apps/callback?code={code}&state=not-a-state-hubgate-issued", "not one Hubgate issued");

        Assert.DoesNotContain(_gitHub.Requests, r => r.Path.Contains("app-manifests", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ManifestReturn_InAnotherBrowser_IsRefused_AndStillWorksInTheFirst()
    {
        using var first = Browser();
        using var other = Browser();
        var callback = await PostManifestAsync(first, await StartAsync("bound"));

        await AssertRefusedAsync(other, callback, "did not start");

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(first, callback)).Status);
    }

    [Fact]
    public async Task StartPage_OpenedInASecondBrowser_IsRefused()
    {
        using var first = Browser();
        using var other = Browser();
        var start = await StartAsync("twice");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(first, start)).Status);

        var (status, html) = await GetAsync(other, start);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("another browser", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManifestReturn_AfterAnHour_IsRefused()
    {
        using var browser = Browser();
        var callback = await PostManifestAsync(browser, await StartAsync("late"));
        await DbAsync(db => db.AppManifestStates.ExecuteUpdateAsync(s => s.SetProperty(x => x.ExpiresAt, DateTimeOffset.UtcNow.AddSeconds(-1))));

        await AssertRefusedAsync(browser, callback, "expired");
    }

    [Fact]
    public async Task SetupCallback_RegistersAnInstallationGitHubKnows_AtOnce()
    {
        _gitHub.AddInstallation(5, "globex");
        _gitHub.AddRepository(5, 500, "globex", "site");
        using var browser = Browser();

        var (status, html) = await GetAsync(browser, "/setup/installations/callback?installation_id=5&setup_action=install");

        Assert.True(status == HttpStatusCode.OK, html);
        Assert.Equal("globex", await DbAsync(db => db.Installations.Where(i => i.App == "default" && i.Id == 5).Select(i => i.AccountLogin).SingleAsync()));
        Assert.True(await DbAsync(db => db.Repositories.AnyAsync(r => r.App == "default" && r.Id == 500)));
    }

    [Fact]
    public async Task SetupCallback_ForAnInstallationGitHubDoesNotKnow_Is404_AndStoresNothing()
    {
        using var browser = Browser();

        var (status, html) = await GetAsync(browser, "/setup/installations/callback?installation_id=999&setup_action=install");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("GitHub does not know installation 999", html, StringComparison.Ordinal);
        Assert.False(await DbAsync(db => db.Installations.AnyAsync(i => i.Id == 999)));
    }

    [Fact]
    public async Task Api_AddListRemove_NeverShowsASecret_AndARemovedAppNoLongerActs()
    {
        var extra = _gitHub.AddApp("extra");
        _gitHub.InstallApp(extra.Id, 8, "initech");
        using var admin = Admin();

        var added = await admin.PostAsJsonAsync("/api/apps", new
        {
            name = "extra", appId = extra.Id, privateKey = extra.PrivateKeyPem, webhookSecret = extra.WebhookSecret, apiBaseUrl = _gitHub.ApiBaseUrl,
        });
        Assert.True(added.StatusCode == HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        var list = await admin.GetStringAsync(new Uri("/api/apps", UriKind.Relative));
        var apps = JsonSerializer.Deserialize<JsonElement>(list).EnumerateArray().ToDictionary(a => a.GetProperty("name").GetString()!);
        Assert.Equal(["default", "extra"], apps.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("database", apps["extra"].GetProperty("source").GetString());
        Assert.True(apps["extra"].GetProperty("live").GetBoolean());
        Assert.DoesNotContain("PRIVATE KEY", list, StringComparison.Ordinal);
        Assert.DoesNotContain(extra.WebhookSecret, list, StringComparison.Ordinal);
        using var browser = Browser();
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(browser, "/setup/installations/callback?installation_id=8&app=extra")).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync(new Uri("/api/apps/extra", UriKind.Relative))).StatusCode);

        var shown = JsonSerializer.Deserialize<JsonElement>(await admin.GetStringAsync(new Uri("/api/apps/extra", UriKind.Relative)));
        Assert.False(shown.GetProperty("live").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, shown.GetProperty("removedAt").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(browser, "/setup/installations/callback?installation_id=8&app=extra")).Status);
        Assert.True(await DbAsync(db => db.Apps.AnyAsync(a => a.Name == "extra")), "the removed App's row is kept");
    }

    [Fact]
    public async Task Api_AnAppCannotTakeAConfiguredAppsName()
    {
        var extra = _gitHub.AddApp("shadow");
        using var admin = Admin();

        var response = await admin.PostAsJsonAsync("/api/apps", new { name = "default", appId = extra.Id, privateKey = extra.PrivateKeyPem, apiBaseUrl = _gitHub.ApiBaseUrl });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(0, await DbAsync(db => db.Apps.CountAsync()));
    }

    [Fact]
    public async Task AnAppAddedElsewhere_IsFoundOnTheFirstRequestNamingIt_WithoutARestart()
    {
        _ = _app.Server; // the service runs before the App exists
        var other = _gitHub.AddApp("elsewhere");
        _gitHub.InstallApp(other.Id, 9, "umbrella");
        var keyFile = Path.Combine(_app.Directory, "elsewhere.pem");
        await File.WriteAllTextAsync(keyFile, other.PrivateKeyPem);
        var secretFile = Path.Combine(_app.Directory, "elsewhere.secret");
        await File.WriteAllTextAsync(secretFile, other.WebhookSecret + "\n"); // as `echo SECRET > file` writes it
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] add = ["apps", "add", "elsewhere", "--app-id", other.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--private-key-file", keyFile,
            "--webhook-secret-file", secretFile, "--api-base-url", _gitHub.ApiBaseUrl.AbsoluteUri];

        // Both ways of giving the secret at once is refused; then another process (the command) on the same database adds it.
        Assert.Equal(2, await HubgateCommand.RunAsync([.. add, "--webhook-secret", "x"], _app.DatabaseSettings,
            new InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null }));
        var exit = await HubgateCommand.RunAsync(add, _app.DatabaseSettings, new InvocationConfiguration { Output = output, Error = error });
        File.Delete(keyFile);
        File.Delete(secretFile);
        Assert.True(exit == 0, error.ToString());

        // Its first delivery is verified with its secret and stored, not refused as an unknown App (GitHub would not retry a 404).
        using (var hooks = _app.CreateClient())
        using (var delivery = WebhookFixtures.Delivery("/webhooks/github/elsewhere", "ping",
                   System.Text.Encoding.UTF8.GetBytes("{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}"), other.WebhookSecret, "first-elsewhere", other.Id))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await hooks.SendAsync(delivery)).StatusCode);
        }

        using var browser = Browser();
        var (status, html) = await GetAsync(browser, "/setup/installations/callback?installation_id=9&app=elsewhere");
        Assert.True(status == HttpStatusCode.OK, html);
        Assert.Equal("umbrella", await DbAsync(db => db.Installations.Where(i => i.App == "elsewhere" && i.Id == 9).Select(i => i.AccountLogin).SingleAsync()));
    }

    [Fact]
    public async Task AnAppRemovedElsewhere_StopsActingHereAtTheNextRefresh()
    {
        var gone = _gitHub.AddApp("gone");
        _gitHub.InstallApp(gone.Id, 11, "hooli");
        using var admin = Admin();
        var added = await admin.PostAsJsonAsync("/api/apps", new { name = "gone", appId = gone.Id, privateKey = gone.PrivateKeyPem, apiBaseUrl = _gitHub.ApiBaseUrl });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        using var error = new StringWriter();

        // Another process (the command) on the same database removes it; this one still has it until it re-reads the table.
        Assert.Equal(0, await HubgateCommand.RunAsync(["apps", "remove", "gone"], _app.DatabaseSettings,
            new InvocationConfiguration { Output = TextWriter.Null, Error = error }));
        await _app.Services.GetRequiredService<Hubgate.Apps.GitHubAppStore>().RefreshAsync(CancellationToken.None);

        using var browser = Browser();
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(browser, "/setup/installations/callback?installation_id=11&app=gone")).Status);
        Assert.False(_app.Services.GetRequiredService<Hubgate.Apps.GitHubApps>().TryGet("gone", out _));
    }

    [Fact]
    public async Task SetupCallback_GuessingInstallations_IsThrottledPerAddress()
    {
        using var app = new HubgateApplication(Settings(("Hubgate:FailedKeyLimitPerMinute", "2")));
        using var browser = app.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var id = 901; id <= 903; id++)
        {
            statuses.Add((await browser.GetAsync(new Uri($"/setup/installations/callback?installation_id={id}", UriKind.Relative))).StatusCode);
        }

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(2, _gitHub.Requests.Count(r => r.Path.StartsWith("/app/installations/9", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ManifestFlow_OnAnEnterpriseHost_RegistersThereAndLinksToItsInstallPage()
    {
        await using var enterprise = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { PathPrefix = "/api/v3" });
        using var browser = Browser();

        var callback = await PostManifestAsync(browser, await StartAsync("ghes", organization: "acme", host: enterprise));
        var (status, html) = await GetAsync(browser, callback);

        Assert.True(status == HttpStatusCode.OK, html);
        var created = enterprise.Apps.Single(a => a.Name == "ghes");
        Assert.Equal("acme", created.OwnerLogin);
        Assert.Contains($"{enterprise.WebBaseUrl.AbsoluteUri}github-apps/{created.Slug}/installations/new", html, StringComparison.Ordinal);
        var row = await DbAsync(db => db.Apps.SingleAsync(a => a.Name == "ghes"));
        Assert.Equal(enterprise.ApiBaseUrl.AbsoluteUri, row.ApiBaseUrl);
        Assert.Empty(_gitHub.ManifestRequests);
    }
}
