using System.Security.Cryptography;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Server.Tests.Access.ClientHosts;

namespace Hubgate.Server.Tests.Dashboard;

/// <summary>The dashboard with two Apps' deliveries of the same id: an App column, a filter by App, and each delivery's own page.</summary>
public sealed partial class DashboardSessionTests
{
    [Fact]
    public async Task TwoAppsDeliveriesOfTheSameId_ShowTheirApp_FilterByApp_AndOpenTheirOwnPage()
    {
        var inbox = _app.Services.GetRequiredService<WebhookInbox>();
        var body = "{\"zen\":\"Design for failure.\",\"hook_id\":1}"u8.ToArray();
        foreach (var app in new[] { StoredApp.Default, "ghes" })
        {
            Assert.Equal(InboxOutcome.Stored, await inbox.StoreAsync(app, new WebhookDeliveryEntity
            {
                DeliveryId = "same-id",
                Event = "ping",
                ReceivedAt = _time.GetUtcNow(),
                Body = body,
                BodySha256 = Convert.ToHexStringLower(SHA256.HashData(body)),
            }));
        }

        var (browser, _) = await SignInAsync(AdminKey);
        using (browser)
        {
            var home = await browser.GetStringAsync(new Uri("/", UriKind.Relative));
            Assert.Contains("<tr data-app=\"default\" data-delivery=\"same-id\">", home, StringComparison.Ordinal);
            Assert.Contains("<tr data-app=\"ghes\" data-delivery=\"same-id\">", home, StringComparison.Ordinal);
            Assert.Contains("href=\"/deliveries/same-id?app=ghes\"", home, StringComparison.Ordinal);

            var filtered = await browser.GetStringAsync(new Uri("/?app=ghes", UriKind.Relative));
            Assert.Contains("data-app=\"ghes\"", filtered, StringComparison.Ordinal);
            Assert.DoesNotContain("data-app=\"default\"", filtered, StringComparison.Ordinal);

            var page = await browser.GetStringAsync(new Uri("/deliveries/same-id?app=ghes", UriKind.Relative));
            Assert.Contains("<td id=\"app\">ghes</td>", page, StringComparison.Ordinal);
            Assert.Contains("action=\"/deliveries/same-id/redeliver?app=ghes\"", page, StringComparison.Ordinal);
        }
    }
}
