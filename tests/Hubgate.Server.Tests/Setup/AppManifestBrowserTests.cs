using System.CommandLine;
using System.Globalization;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;
using Microsoft.Playwright;

namespace Hubgate.Server.Tests.Setup;

/// <summary>
/// The App manifest flow in a real browser (Playwright driving Debian's Chromium, headless) against the server as its own
/// process and the fake GitHub: the dashboard's New App page (and <c>hubgate apps create</c>) posts the manifest to the
/// fake's <c>/settings/apps/new</c>, which sends the browser back with a code; the App is converted, stored encrypted and
/// acts at once — the setup return for its installation is answered with its own key, with no restart. A forged or
/// replayed state is refused. Runs once (SQLite pass).
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class AppManifestBrowserTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ApiKey = "manifest-browser-key-3a9d";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-manifest-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly int _port = ServerProcess.FreePort();
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _gitHub = await FakeGitHubServer.StartAsync();
        TestSecrets.Register(ApiKey, "the API key");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private string DatabasePath => Path.Combine(_directory, "hubgate.db");

    private Dictionary<string, string?> Settings() => new()
    {
        ["Database:Provider"] = "Sqlite",
        ["ConnectionStrings:Hubgate"] = $"Data Source={DatabasePath}",
        ["Hubgate:ApiKey"] = ApiKey,
        ["Hubgate:PublicUrl"] = $"http://127.0.0.1:{_port}/",
        ["GitHub:SyncInterval"] = "0",
    };

    private static async Task<(IPlaywright, IBrowser)> LaunchAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (test.sh installs it when run as root).");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        return (playwright, browser);
    }

    [Fact]
    public async Task NewAppPage_RegistersTheAppOnGitHub_ItActsWithoutARestart_AndAForgedOrReplayedStateIsRefused()
    {
        var settings = Settings();
        var pages = new List<(string, string)>();
        await using (var server = await ServerProcess.StartAsync(settings, _port))
        {
            var (playwright, browser) = await LaunchAsync();
            using var _ = playwright;
            await using var __ = browser;
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.AbsoluteUri });
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(20_000);

            await page.GotoAsync("/apps/new");
            Assert.Contains("/signin", page.Url, StringComparison.Ordinal); // admins only
            await page.FillAsync("input[name=apiKey]", ApiKey);
            await page.ClickAsync("button[type=submit]");
            await page.GetByRole(AriaRole.Heading, new() { Name = "Recent deliveries" }).WaitForAsync();

            await page.GotoAsync("/apps/new");
            await page.FillAsync("input[name=name]", "staging");
            await page.FillAsync("input[name=host]", _gitHub.WebBaseUrl.AbsoluteUri);
            await page.FillAsync("input[name=apiBaseUrl]", _gitHub.ApiBaseUrl.AbsoluteUri);
            await page.ClickAsync("#create");

            // Hubgate's page posts the manifest to GitHub by itself; GitHub sends the browser back; the App is registered.
            await WaitForAsync(page, "#created");
            var created = _gitHub.Apps.Single(a => a.Name == "staging");
            Assert.Equal(created.Id.ToString(CultureInfo.InvariantCulture), (await page.InnerTextAsync("#app-id")).Trim());
            Assert.Equal($"{_gitHub.WebBaseUrl.AbsoluteUri}apps/{created.Slug}/installations/new", await page.GetAttributeAsync("#install", "href"));
            var callback = page.Url;
            Assert.Contains("/setup/apps/callback?code=", callback, StringComparison.Ordinal);
            pages.Add(("the App's page", await page.ContentAsync()));

            // The new App acts at once, with its own key: installed from its page on GitHub, GitHub's setup return
            // registers the installation — Hubgate asked GitHub about it with the new App's JWT and token.
            await page.ClickAsync("#install");
            await page.Locator("#installed").WaitForAsync();
            var installationId = System.Text.RegularExpressions.Regex.Match(page.Url, "installation_id=([0-9]+)").Groups[1].Value;
            Assert.Contains("app=staging", page.Url, StringComparison.Ordinal);
            Assert.Contains($"Installation {installationId} of App staging is registered", await page.InnerTextAsync("#installed"), StringComparison.Ordinal);
            using (var api = new HttpClient { BaseAddress = server.BaseAddress })
            {
                api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
                var stored = await api.GetStringAsync(new Uri($"/api/installations/{installationId}?app=staging", UriKind.Relative));
                Assert.Contains(_gitHub.SignedInUser, stored, StringComparison.Ordinal);
            }

            // An installation GitHub does not know is refused.
            var unknown = await page.GotoAsync("/setup/installations/callback?installation_id=999&setup_action=install&app=staging");
            Assert.Equal(404, unknown!.Status);

            // The same return again (replayed), and a state Hubgate never issued (forged): refused.
            var replayed = await page.GotoAsync(callback);
            Assert.Equal(400, replayed!.Status);
            Assert.Contains("used already", await page.InnerTextAsync("#problem"), StringComparison.Ordinal);
            var forged = await page.GotoAsync(callback[..callback.IndexOf("state=", StringComparison.Ordinal)] + "state=forged-state");
            Assert.Equal(400, forged!.Status);
            Assert.Contains("not one Hubgate issued", await page.InnerTextAsync("#problem"), StringComparison.Ordinal);
            Assert.Single(_gitHub.Apps, a => a.Name == "staging");
        }

        // The server is stopped: the App's key and secrets are nowhere in the pages or the database file in clear.
        TestSecrets.AssertNoneIn(pages, [DatabasePath, DatabasePath + "-wal"]);
    }

    [Fact]
    public async Task AppsCreate_PrintsTheAddress_WaitsForGitHubsReturn_AndPrintsTheApp()
    {
        var settings = Settings();
        await using var server = await ServerProcess.StartAsync(settings, _port);
        var (playwright, browser) = await LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var output = new LineWriter();
        using var error = new StringWriter();

        var command = HubgateCommand.RunAsync(
            ["apps", "create", "from-cli", "--org", "acme", "--host", _gitHub.WebBaseUrl.AbsoluteUri, "--api-base-url", _gitHub.ApiBaseUrl.AbsoluteUri, "--wait", "2m"],
            settings, new InvocationConfiguration { Output = output, Error = error });
        var address = await output.FirstLineAsync(TimeSpan.FromSeconds(60));
        Assert.StartsWith($"http://127.0.0.1:{_port}/setup/apps/start?state=", address, StringComparison.Ordinal);

        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(20_000);
        await page.GotoAsync(address);
        await WaitForAsync(page, "#created");

        Assert.True(await command.WaitAsync(TimeSpan.FromSeconds(60)) == 0, error.ToString());
        var created = _gitHub.Apps.Single(a => a.Name == "from-cli");
        Assert.Equal("acme", created.OwnerLogin);
        Assert.Contains($"App from-cli is registered: id {created.Id}", output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"apps/{created.Slug}/installations/new", output.ToString(), StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(IPage page, string selector)
    {
        try
        {
            await page.Locator(selector).WaitForAsync();
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{selector} did not appear; the browser is at {page.Url}: {await page.InnerTextAsync("body")}");
        }
    }

    /// <summary>A writer whose first line can be awaited (the command prints the address, then waits).</summary>
    private sealed class LineWriter : StringWriter
    {
        private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            _first.TrySetResult(value ?? "");
        }

        public Task<string> FirstLineAsync(TimeSpan limit) => _first.Task.WaitAsync(limit);
    }
}
