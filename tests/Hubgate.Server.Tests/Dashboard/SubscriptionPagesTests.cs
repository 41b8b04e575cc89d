using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Dashboard;

/// <summary>
/// The dashboard's Subscriptions page and a subscription's page after real traffic: the built-in subscription delivers
/// three pings, an HTTP subscription whose endpoint refuses connections has them failed (to be retried in an hour),
/// another with one immediate retry has them dead. The pages show each one's status, backlog, last hour, lag and last
/// error, the SVG chart has the deliveries in it, Pause and Resume work through the form (and not without its
/// antiforgery token), a delivery's page shows where it stands for every subscription, and no secret is shown.
/// </summary>
public sealed partial class SubscriptionPagesTests : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "dashboard-subscriptions-key-7c2d";
    private const string WebhookSecret = "dashboard-subscriptions-webhook-secret";
    private const string DownSecret = "down-subscription-secret-5a1f9e";
    private const string GoneSecret = "gone-subscription-secret-0b7c44";
    /// <summary>A token in an endpoint's query string: stored with the definition, never shown.</summary>
    private const string QueryToken = "query-token-3e9d51a0";
    private const int Pings = 3;
    private HubgateApplication _app = null!;
    private HttpClient _browser = null!;

    public async Task InitializeAsync()
    {
        TestSecrets.Register(DownSecret, "a subscription's secret");
        TestSecrets.Register(GoneSecret, "a subscription's secret");
        var refused = ClosedPort();
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:WebhookSecret"] = WebhookSecret,
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Subscriptions:AllowLoopback"] = "true",
            ["Subscriptions:down:Url"] = $"http://127.0.0.1:{refused}/hooks?token={QueryToken}",
            ["Subscriptions:down:Secret"] = DownSecret,
            ["Subscriptions:down:Retry:0"] = "01:00:00",
            ["Subscriptions:gone:Url"] = $"http://127.0.0.1:{refused}/gone",
            ["Subscriptions:gone:Secret"] = GoneSecret,
            ["Subscriptions:gone:Retry:0"] = "00:00:00",
        });
        using var client = _app.CreateClient();
        var ping = WebhookFixtures.Load("ping", "payload.json");
        for (var i = 0; i < Pings; i++)
        {
            using var delivery = WebhookFixtures.Delivery("/webhooks/github", "ping", ping, WebhookSecret, $"dash-sub-{i}");
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);
        }

        await WaitForAsync(new()
        {
            [(SubscriptionValidation.LocalName, DeliveryState.Processed)] = Pings,
            [("down", DeliveryState.Failed)] = Pings,
            [("gone", DeliveryState.Dead)] = Pings,
        });
        (_browser, _) = await DashboardSignIn.SignInAsync(_app, ApiKey);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _browser?.Dispose();
        _app?.Dispose();
    }

    /// <summary>A loopback port nothing listens on: connections to it are refused.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Until every (subscription, state) has its count of rows (at most 30 s).</summary>
    private async Task WaitForAsync(Dictionary<(string Subscription, DeliveryState State), int> expected)
    {
        var databases = _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        var counts = new Dictionary<(string, DeliveryState), int>();
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
        {
            await using var db = await databases.CreateDbContextAsync();
            counts = (await db.SubscriptionDeliveries.AsNoTracking().Select(s => new { s.Subscription, s.State }).ToListAsync())
                .GroupBy(s => (s.Subscription, s.State)).ToDictionary(g => g.Key, g => g.Count());
            if (expected.All(e => counts.GetValueOrDefault(e.Key) == e.Value))
            {
                return;
            }
        }

        Assert.Fail("the subscriptions did not get there: " + string.Join(", ", counts.Select(c => $"{c.Key}={c.Value}")));
    }

    private Task<string> PageAsync(string path) => _browser.GetStringAsync(new Uri(path, UriKind.Relative));

    [GeneratedRegex("<tr data-subscription=\"([^\"]+)\">(.*?)</tr>")]
    private static partial Regex SubscriptionRow();

    [GeneratedRegex("<td class=\"([a-z -]+)\">([^<]*)</td>")]
    private static partial Regex Cell();

    /// <summary>The list page's row of each subscription: its cells by class (backlog, delivered, failed, lag, …) and its whole HTML.</summary>
    private static Dictionary<string, (Dictionary<string, string> Cells, string Html)> Rows(string page) =>
        SubscriptionRow().Matches(page).ToDictionary(m => m.Groups[1].Value,
            m => (Cell().Matches(m.Groups[2].Value).ToDictionary(c => c.Groups[1].Value, c => WebUtility.HtmlDecode(c.Groups[2].Value)), m.Groups[2].Value));

    [GeneratedRegex("<rect class=\"[a-z]+\" data-minute=\"[0-9:]+\" data-outcome=\"([a-z]+)\" data-count=\"([0-9]+)\"")]
    private static partial Regex Bar();

    /// <summary>The sum of the chart's bars of each outcome.</summary>
    private static Dictionary<string, int> Bars(string page)
    {
        var chart = page[page.IndexOf("<svg id=\"chart-deliveries\"", StringComparison.Ordinal)..];
        chart = chart[..chart.IndexOf("</svg>", StringComparison.Ordinal)];
        return Bar().Matches(chart).GroupBy(m => m.Groups[1].Value)
            .ToDictionary(g => g.Key, g => g.Sum(m => int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task TheSubscriptionsPage_ListsEverySubscription_WithStatusBacklogLastHourAndLastError_AndNoSecret()
    {
        var page = await PageAsync("/subscriptions");
        var rows = Rows(page);

        Assert.Equal(["down", "gone", "local"], rows.Keys.Order());
        var local = rows["local"].Cells;
        Assert.Equal(("active", "0", Pings.ToString(CultureInfo.InvariantCulture), "0"), (local["status status-active"], local["backlog"], local["delivered"], local["failed"]));
        Assert.Matches("^[0-9.]+ m?s$", local["lag"]);
        var down = rows["down"].Cells;
        Assert.Equal(("configuration", "active", "3", "0", "3"), (Regex.Match(rows["down"].Html, "<td>(configuration)</td>").Groups[1].Value,
            down["status status-active"], down["backlog"], down["delivered"], down["failed"]));
        Assert.Equal("—", down["lag"]);
        Assert.False(string.IsNullOrWhiteSpace(down["last-error"]));
        var gone = rows["gone"].Cells;
        Assert.Equal(("0", "3"), (gone["backlog"], gone["failed"]));
        Assert.Contains("action=\"/subscriptions/down/pause\"", rows["down"].Html, StringComparison.Ordinal);
        Assert.Contains("href=\"/subscriptions\" id=\"nav-subscriptions\"", await PageAsync("/"), StringComparison.Ordinal);
        TestSecrets.AssertNoneIn([("the subscriptions page", page)], []);
        Assert.DoesNotContain(QueryToken, page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASubscriptionsPage_ChartsItsLastHour_InSvg_WithTheDeliveriesByOutcome_AndTheLag()
    {
        var local = await PageAsync("/subscriptions/local");
        Assert.Contains("<svg id=\"chart-deliveries\"", local, StringComparison.Ordinal);
        Assert.Equal(new Dictionary<string, int> { ["delivered"] = Pings }, Bars(local));
        Assert.Matches("<circle class=\"lag-p99\" data-minute=\"[0-9:]{5}\" data-ms=\"[0-9]+\"", local);
        Assert.Contains("<svg id=\"chart-lag\"", local, StringComparison.Ordinal);

        var down = await PageAsync("/subscriptions/down");
        Assert.Equal(new Dictionary<string, int> { ["failed"] = Pings }, Bars(down));
        Assert.DoesNotContain("<circle class=\"lag-", down, StringComparison.Ordinal);
        Assert.Equal(Pings, Regex.Count(down, "<td class=\"state-failed\">failed</td>"));
        Assert.Contains("<tr data-delivery=\"dash-sub-0\">", down, StringComparison.Ordinal);
        Assert.Matches("^http://127.0.0.1:[0-9]+/hooks\\?…$", WebUtility.HtmlDecode(Regex.Match(down, "<td id=\"destination\">([^<]*)</td>").Groups[1].Value));
        Assert.Equal(new Dictionary<string, int> { ["dead"] = Pings }, Bars(await PageAsync("/subscriptions/gone")));

        Assert.Equal(HttpStatusCode.NotFound, (await _browser.GetAsync(new Uri("/subscriptions/nope", UriKind.Relative))).StatusCode);
        TestSecrets.AssertNoneIn([("a subscription's page", local), ("a subscription's page", down)], []);
        Assert.DoesNotContain(QueryToken, down, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PauseAndResume_ThroughTheForm_ChangeTheStatus_AndNeedTheAntiforgeryToken()
    {
        var catalog = _app.Services.GetRequiredService<SubscriptionCatalog>();
        var list = await PageAsync("/subscriptions");

        using (var bare = new FormUrlEncodedContent([new("from", "list")]))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await _browser.PostAsync(new Uri("/subscriptions/down/pause", UriKind.Relative), bare)).StatusCode);
        }

        Assert.Equal(SubscriptionStatus.Active, (await catalog.FindAsync("down", default))!.Status);

        using (var form = DashboardSignIn.Form(list, ("from", "list")))
        {
            var paused = await _browser.PostAsync(new Uri("/subscriptions/down/pause", UriKind.Relative), form);
            Assert.Equal(HttpStatusCode.Redirect, paused.StatusCode);
            Assert.Equal("/subscriptions?changed=paused", paused.Headers.Location?.OriginalString);
        }

        Assert.Equal(SubscriptionStatus.Paused, (await catalog.FindAsync("down", default))!.Status);
        var page = await PageAsync("/subscriptions/down");
        Assert.Contains("<td class=\"status status-paused\">paused</td>", page, StringComparison.Ordinal);
        Assert.Contains("action=\"/subscriptions/down/resume\"", page, StringComparison.Ordinal);

        using (var form = DashboardSignIn.Form(page, ("from", "page")))
        {
            var resumed = await _browser.PostAsync(new Uri("/subscriptions/down/resume", UriKind.Relative), form);
            Assert.Equal("/subscriptions/down?changed=resumed", resumed.Headers.Location?.OriginalString);
        }

        Assert.Equal(SubscriptionStatus.Active, (await catalog.FindAsync("down", default))!.Status);
    }

    [Fact]
    public async Task Replay_ThroughTheForm_SendsTheWindowAgain_OfOneEventWhenGiven_SaysHowMany_AndRefusesABadWindow()
    {
        var databases = _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        async Task<List<int>> AttemptsOfDown()
        {
            await using var db = await databases.CreateDbContextAsync();
            return await db.SubscriptionDeliveries.AsNoTracking().Where(s => s.Subscription == "down").Select(s => s.Attempts).ToListAsync();
        }

        Assert.Equal([1, 1, 1], await AttemptsOfDown());
        var page = await PageAsync("/subscriptions/down");
        Assert.Contains("<form id=\"replay\" method=\"post\" action=\"/subscriptions/down/replay\">", page, StringComparison.Ordinal);

        using (var bare = new FormUrlEncodedContent([new("since", "1h")]))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await _browser.PostAsync(new Uri("/subscriptions/down/replay", UriKind.Relative), bare)).StatusCode);
        }

        using (var pushes = DashboardSignIn.Form(page, ("since", "1h"), ("event", "push")))
        {
            var none = await _browser.PostAsync(new Uri("/subscriptions/down/replay", UriKind.Relative), pushes);
            Assert.Equal("/subscriptions/down?changed=replayed&count=0", none.Headers.Location?.OriginalString);
        }

        using (var bad = DashboardSignIn.Form(page, ("since", "yesterday-ish")))
        {
            var refused = await _browser.PostAsync(new Uri("/subscriptions/down/replay", UriKind.Relative), bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("since=&#x27;yesterday-ish&#x27; is neither an instant", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal([1, 1, 1], await AttemptsOfDown());
        using (var form = DashboardSignIn.Form(page, ("since", "1h"), ("event", "ping")))
        {
            var replayed = await _browser.PostAsync(new Uri("/subscriptions/down/replay", UriKind.Relative), form);
            Assert.Equal(HttpStatusCode.Redirect, replayed.StatusCode);
            Assert.Equal($"/subscriptions/down?changed=replayed&count={Pings}", replayed.Headers.Location?.OriginalString);
            Assert.Contains($"Replayed: {Pings} deliveries go back to pending", await PageAsync(replayed.Headers.Location!.OriginalString), StringComparison.Ordinal);
        }

        // Attempted again at once rather than in an hour (the endpoint still refuses them): a second attempt each.
        await WaitForAsync(new() { [("down", DeliveryState.Failed)] = Pings });
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(100))
        {
            if ((await AttemptsOfDown()).All(a => a == 2))
            {
                return;
            }
        }

        Assert.Fail($"the replayed rows were not attempted again: attempts {string.Join(", ", await AttemptsOfDown())}");
    }

    [Fact]
    public async Task ADisabledSubscription_ShowsWhy_AndEnableResumesIt()
    {
        var catalog = _app.Services.GetRequiredService<SubscriptionCatalog>();
        await catalog.SetStatusAsync("gone", SubscriptionStatus.Disabled, "The destination answered 410 Gone to delivery dash-sub-0.", default);

        var list = await PageAsync("/subscriptions");
        var gone = Rows(list)["gone"].Html;
        Assert.Contains("<td class=\"status status-disabled\">disabled<div class=\"muted reason\">The destination answered 410 Gone to delivery dash-sub-0.</div></td>", gone, StringComparison.Ordinal);
        Assert.Contains("<button type=\"submit\" class=\"resume\">Enable</button>", gone, StringComparison.Ordinal);

        using var form = DashboardSignIn.Form(list, ("from", "list"));
        await _browser.PostAsync(new Uri("/subscriptions/gone/resume", UriKind.Relative), form);
        Assert.Equal(SubscriptionStatus.Active, (await catalog.FindAsync("gone", default))!.Status);
    }

    [Fact]
    public async Task ADeliverysPage_ShowsWhereItStands_ForEverySubscription()
    {
        var page = await PageAsync("/deliveries/dash-sub-1");

        Assert.Matches("<tr data-subscription=\"local\"><td><a href=\"/subscriptions/local\">local</a></td><td class=\"state state-processed\">processed</td><td class=\"attempts\">1</td>", page);
        Assert.Matches("<tr data-subscription=\"down\">.*?<td class=\"state state-failed\">failed</td><td class=\"attempts\">1</td><td>next [0-9-]+ [0-9:]+ UTC</td>", page);
        Assert.Matches("<tr data-subscription=\"gone\">.*?<td class=\"state state-dead\">dead</td><td class=\"attempts\">2</td>", page);
        Assert.Matches("<tr data-subscription=\"gone\">.*?<pre>[^<—]+</pre>", page);
        TestSecrets.AssertNoneIn([("a delivery's page", page)], []);
    }
}
