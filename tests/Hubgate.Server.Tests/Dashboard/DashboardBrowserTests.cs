using System.CommandLine;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;
using Microsoft.Playwright;

namespace Hubgate.Server.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Playwright driving Debian's Chromium, headless) against the server as its own
/// process: sign in with the API key, see a delivery sent with <c>hubgate send</c> appear, open it, press Redeliver,
/// see its attempts go up, then open the Subscriptions page and the built-in subscription's chart. Runs once (SQLite pass).
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class DashboardBrowserTests : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ApiKey = "dashboard-browser-key-90fe";
    private const string Secret = "dashboard-webhook-secret";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-dashboard-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    private Dictionary<string, string?> Settings() => new()
    {
        ["Database:Provider"] = "Sqlite",
        ["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(_directory, "hubgate.db")}",
        ["Hubgate:ApiKey"] = ApiKey,
        ["GitHub:WebhookSecret"] = Secret,
        ["Webhooks:PollInterval"] = "00:00:00.050",
    };

    private static async Task WaitForTextAsync(IPage page, string selector, string text, TimeSpan limit)
    {
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); ; await Task.Delay(250))
        {
            if (await page.Locator(selector).CountAsync() > 0 && (await page.Locator(selector).InnerTextAsync()).Trim() == text)
            {
                return;
            }

            if (clock.Elapsed > limit)
            {
                Assert.Fail($"{selector} did not show '{text}' within {limit}: page says {await page.InnerTextAsync("main")}");
            }

            if (clock.Elapsed.TotalSeconds % 2 < 0.3)
            {
                await page.ReloadAsync();
            }
        }
    }

    [Fact]
    public async Task SignIn_SeeASentDelivery_Redeliver_AttemptsGoUp()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install chromium (test.sh installs it when run as root).");
        TestSecrets.Register(ApiKey, "the API key");
        var settings = Settings();
        await using var server = await ServerProcess.StartAsync(settings);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox"], // the test may run as root
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.AbsoluteUri });
        var page = await context.NewPageAsync();
        var urls = new List<string>();
        page.Request += (_, request) => urls.Add(request.Url);
        page.SetDefaultTimeout(15_000);

        // Not signed in: the dashboard sends the browser to the sign-in form. A wrong key is refused.
        await page.GotoAsync("/");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=apiKey]", "not-the-key");
        await page.ClickAsync("button[type=submit]");
        await page.Locator("[role=alert]").WaitForAsync();
        Assert.Contains("not the API key", await page.InnerTextAsync("[role=alert]"), StringComparison.Ordinal);

        await page.FillAsync("input[name=apiKey]", ApiKey);
        await page.ClickAsync("button[type=submit]");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Recent deliveries" }).WaitForAsync();
        var session = Assert.Single(await context.CookiesAsync(), c => c.Name == "hubgate.session");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);

        // A delivery sent the way an operator would, with `hubgate send`.
        using var output = new StringWriter();
        var fixture = Path.Combine(WebhookFixtures.Directory, "ping", "payload.json");
        Assert.Equal(0, await HubgateCommand.RunAsync(["send", fixture, "--event", "ping", "--url", new Uri(server.BaseAddress, "/webhooks/github").AbsoluteUri],
            settings, new InvocationConfiguration { Output = output, Error = TextWriter.Null }));
        var id = output.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];

        // The page refreshes itself; the row appears without a reload.
        var row = page.Locator($"tr[data-delivery='{id}']");
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 20_000 });
        await row.GetByRole(AriaRole.Link).ClickAsync();
        await WaitForTextAsync(page, "#state", "processed", TimeSpan.FromSeconds(20));
        Assert.Equal("1", (await page.InnerTextAsync("#attempts")).Trim());
        Assert.Contains("\"zen\"", await page.InnerTextAsync("#payload"), StringComparison.Ordinal);
        Assert.Contains("X-GitHub-Event", await page.InnerTextAsync("#headers"), StringComparison.OrdinalIgnoreCase);

        await page.ClickAsync("#redeliver");
        await page.Locator("[role=status]").WaitForAsync();
        await WaitForTextAsync(page, "#attempts", "2", TimeSpan.FromSeconds(20));
        await WaitForTextAsync(page, "#state", "processed", TimeSpan.FromSeconds(20));

        // Where it stands for each subscription, and the built-in one's page with its chart of the last hour.
        await WaitForTextAsync(page, "#subscriptions tr[data-subscription='local'] .state", "processed", TimeSpan.FromSeconds(20));
        await page.ClickAsync("#nav-subscriptions");
        await page.WaitForURLAsync("**/subscriptions");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Subscriptions", Level = 1 }).WaitForAsync();
        await page.Locator("#subscriptions tr[data-subscription='local'] td.name a").ClickAsync();
        await page.WaitForURLAsync("**/subscriptions/local");
        Assert.True(await page.Locator("svg#chart-deliveries rect.delivered").CountAsync() > 0, "the chart has no delivered bar");
        Assert.True(await page.Locator("svg#chart-deliveries").IsVisibleAsync());
        await page.Locator($"#recent tr[data-delivery='{id}']").WaitForAsync();

        Assert.DoesNotContain(urls, u => u.Contains(ApiKey, StringComparison.Ordinal));
        TestSecrets.AssertNoneIn([("the dashboard", await page.ContentAsync())], []);
    }
}
