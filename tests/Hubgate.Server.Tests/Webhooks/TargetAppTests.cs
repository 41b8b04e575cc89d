using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// Which App a delivery is for (<c>X-GitHub-Hook-Installation-Target-ID</c> against <c>GitHub:AppId</c>), and
/// <c>Webhooks:RequireSha256</c> (on for github.com, off for GitHub Enterprise Server unless set).
/// </summary>
public sealed class TargetAppTests
{
    private const string Secret = "target-secret";
    private const string Path = "/webhooks/github";
    private static readonly byte[] Push = WebhookFixtures.Load("push", "payload.json");

    private static HubgateApplication App(params (string Key, string? Value)[] settings)
    {
        var all = new Dictionary<string, string?> { ["GitHub:WebhookSecret"] = Secret, ["Webhooks:RunWorker"] = "false" };
        foreach (var (key, value) in settings.Where(s => s.Value is not null))
        {
            all[key] = value;
        }

        return new HubgateApplication(all);
    }

    private static async Task<int> StoredAsync(HubgateApplication app)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.WebhookDeliveries.CountAsync();
    }

    [Fact]
    public async Task DeliveryForAnotherApp_403NamingBothApps_NotStored_Counted()
    {
        using var app = App(("GitHub:AppId", "12345"));
        using var client = app.CreateClient();
        using var other = WebhookFixtures.Delivery(Path, "push", Push, Secret, "other-app-1", appId: 777);

        var response = await client.SendAsync(other);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = await response.Content.ReadAsStringAsync();
        Assert.Contains("777", error, StringComparison.Ordinal);
        Assert.Contains("12345", error, StringComparison.Ordinal);
        Assert.Contains("GitHub:AppId", error, StringComparison.Ordinal);
        Assert.Equal(0, await StoredAsync(app));

        string scrape = "";
        for (var i = 0; i < 75 && !scrape.Contains("reason=\"wrong_app\"", StringComparison.Ordinal); i++)
        {
            await Task.Delay(i == 0 ? 0 : 200);
            scrape = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        }

        Assert.Contains("hubgate_webhook_deliveries_refused_total{", scrape, StringComparison.Ordinal);
        Assert.Contains("reason=\"wrong_app\"", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliveryForThisApp_OrNotAnAppHook_OrNoAppIdConfigured_Accepted()
    {
        using var app = App(("GitHub:AppId", "12345"));
        using var client = app.CreateClient();
        using var mine = WebhookFixtures.Delivery(Path, "push", Push, Secret, "mine", appId: 12345);
        using var repositoryHook = WebhookFixtures.Delivery(Path, "push", Push, Secret, "repository-hook", appId: 777);
        repositoryHook.Headers.Remove("X-GitHub-Hook-Installation-Target-Type");
        repositoryHook.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-Type", "repository");

        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(mine)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(repositoryHook)).StatusCode);

        using var noAppId = App();
        using var noAppIdClient = noAppId.CreateClient();
        using var any = WebhookFixtures.Delivery(Path, "push", Push, Secret, "any", appId: 777);
        Assert.Equal(HttpStatusCode.Accepted, (await noAppIdClient.SendAsync(any)).StatusCode);
    }

    [Fact]
    public async Task WrongAppWithABadSignature_StillA401_TheSignatureComesFirst()
    {
        using var app = App(("GitHub:AppId", "12345"));
        using var client = app.CreateClient();
        using var request = WebhookFixtures.Delivery(Path, "push", Push, "not-the-secret", appId: 777);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
    }

    private static HttpRequestMessage Sha1Only(string id)
    {
        var request = WebhookFixtures.Delivery(Path, "push", Push, Secret, id);
        request.Headers.Remove("X-Hub-Signature-256");
        return request;
    }

    [Theory]
    [InlineData(null, null, HttpStatusCode.BadRequest)] // github.com by default
    [InlineData("https://api.github.com/", null, HttpStatusCode.BadRequest)]
    [InlineData("https://api.acme.ghe.com/", null, HttpStatusCode.BadRequest)]
    [InlineData("https://ghe.example.com/api/v3/", null, HttpStatusCode.Accepted)] // GitHub Enterprise Server: off unless set
    [InlineData("https://ghe.example.com/api/v3/", "true", HttpStatusCode.BadRequest)]
    [InlineData("https://api.github.com/", "false", HttpStatusCode.Accepted)]
    public async Task Sha1OnlySignature_RefusedWhereSha256IsRequired(string? apiBaseUrl, string? requireSha256, HttpStatusCode expected)
    {
        using var app = App(("GitHub:ApiBaseUrl", apiBaseUrl), ("Webhooks:RequireSha256", requireSha256));
        using var client = app.CreateClient();
        using var request = Sha1Only("sha1-only");

        var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.BadRequest)
        {
            Assert.Contains("Webhooks:RequireSha256", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var both = WebhookFixtures.Delivery(Path, "push", Push, Secret, "both-signatures");
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(both)).StatusCode);
    }
}
