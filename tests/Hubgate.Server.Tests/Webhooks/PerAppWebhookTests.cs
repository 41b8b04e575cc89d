using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// Two Apps on two hosts — <c>default</c> on a github.com-like fake, <c>ghes</c> on a GHES fake (<c>/api/v3</c>, a key
/// of its own), different App ids and webhook secrets, both installed as installation 1 — in one Hubgate: each App's
/// deliveries verify with its own secrets only and are stored as its own; recovery and sync run against each App's host.
/// </summary>
public sealed class PerAppWebhookTests : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "per-app-api-key-5d1e9b7c";
    private const string CloudSecret = "cloud-webhook-secret-7f3a1c9e2b";
    private const string GhesSecret = "ghes-webhook-secret-4b8d2e6a0c";
    private const long CloudAppId = 1001;
    private const long GhesAppId = 2002;
    private static readonly byte[] Push = WebhookFixtures.Load("push", "payload.json");

    private FakeGitHubServer _cloud = null!;
    private FakeGitHubServer _ghes = null!;
    private HubgateApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _cloud = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { AppId = CloudAppId, WebhookSecret = CloudSecret, Slug = "hubgate-cloud" });
        _ghes = await FakeGitHubServer.StartAsync(new FakeGitHubOptions
        {
            PathPrefix = "/api/v3", OwnKey = true, AppId = GhesAppId, WebhookSecret = GhesSecret, Slug = "hubgate-ghes", NumericIssuerOnly = true,
        });
        _cloud.AddInstallation(1, "cloud-org");
        _cloud.AddRepository(1, 501, "cloud-org", "cloud-repo");
        _ghes.AddInstallation(1, "ghes-org");
        _ghes.AddRepository(1, 501, "ghes-org", "ghes-repo");

        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["Webhooks:RunWorker"] = "false",
            ["GitHub:AppId"] = CloudAppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _cloud.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = _cloud.ApiBaseUrl.AbsoluteUri,
            ["GitHub:WebhookSecret"] = CloudSecret,
            ["GitHub:RetryDelay"] = "00:00:00.020",
            ["GitHub:Apps:ghes:AppId"] = GhesAppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:Apps:ghes:PrivateKey"] = _ghes.PrivateKeyPkcs1Pem,
            ["GitHub:Apps:ghes:ApiBaseUrl"] = _ghes.ApiBaseUrl.AbsoluteUri,
            ["GitHub:Apps:ghes:WebhookSecret"] = GhesSecret,
        });
        _client = _app.CreateClient();
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _app.Dispose();
        await _cloud.DisposeAsync();
        await _ghes.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    private static HttpRequestMessage Delivery(string path, string secret, string id, long appId) =>
        WebhookFixtures.Delivery(path, "push", Push, secret, id, appId);

    private async Task<List<(string App, string DeliveryId)>> StoredAsync()
    {
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var rows = await db.WebhookDeliveries.AsNoTracking().Select(d => new { d.App, d.DeliveryId }).ToListAsync();
        return [.. rows.Select(r => (r.App, r.DeliveryId)).Order()];
    }

    /// <summary>The delivery is answered <paramref name="status"/> with an error saying <paramref name="says"/>, and nothing is stored.</summary>
    private async Task AssertRefusedAsync(HttpRequestMessage delivery, HttpStatusCode status, string says)
    {
        var response = await _client.SendAsync(delivery);
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(says, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task DeliveryToAnAppsPath_VerifiedWithThatAppsSecretOnly_AndStoredAsThatAppsDelivery()
    {
        using var ghesSigned = Delivery("/webhooks/github/ghes", GhesSecret, "ghes-1", GhesAppId);
        using var ghesPathCloudSigned = Delivery("/webhooks/github/ghes", CloudSecret, "ghes-2", GhesAppId);
        using var cloudSigned = Delivery("/webhooks/github", CloudSecret, "cloud-1", CloudAppId);
        using var cloudPathGhesSigned = Delivery("/webhooks/github", GhesSecret, "cloud-2", CloudAppId);

        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(ghesSigned)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(ghesPathCloudSigned)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(cloudSigned)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(cloudPathGhesSigned)).StatusCode);

        Assert.Equal([("default", "cloud-1"), ("ghes", "ghes-1")], await StoredAsync());
    }

    [Fact]
    public async Task UnknownApp_404WithAClearMessage_NothingStored_AndOtherMethods405()
    {
        using var unknown = Delivery("/webhooks/github/nope", GhesSecret, "unknown-1", GhesAppId);

        await AssertRefusedAsync(unknown, HttpStatusCode.NotFound, "No GitHub App of this name");

        var get = await _client.GetAsync(new Uri("/webhooks/github/ghes", UriKind.Relative));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
    }

    [Fact]
    public async Task AppRegisteredAtRunTime_ReceivesAtOnce_AndOnceRemoved_404()
    {
        const string StoredSecret = "stored-app-webhook-secret-2c7e4a91";
        Hubgate.TestSupport.TestSecrets.Register(StoredSecret, "a stored App's webhook secret");
        var apps = _app.Services.GetRequiredService<Hubgate.Apps.GitHubApps>();
        apps.Register(new Hubgate.Apps.GitHubAppRegistration("stored", 3003, null, null, _ghes.PrivateKeyPkcs1Pem, new Uri("https://stored.example.com/api/v3/"),
            null, StoredSecret, [], "hubgate-stored"));
        using var delivered = Delivery("/webhooks/github/stored", StoredSecret, "stored-1", 3003);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(delivered)).StatusCode);

        Assert.True(apps.Unregister("stored"));
        using var afterRemoval = Delivery("/webhooks/github/stored", StoredSecret, "stored-2", 3003);
        var response = await _client.SendAsync(afterRemoval);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal([("stored", "stored-1")], await StoredAsync());
    }

    [Fact]
    public async Task SameDeliveryId_ToBothApps_IsTwoDeliveries()
    {
        using var toCloud = Delivery("/webhooks/github", CloudSecret, "shared-guid", CloudAppId);
        using var toGhes = Delivery("/webhooks/github/ghes", GhesSecret, "shared-guid", GhesAppId);
        using var ghesAgain = Delivery("/webhooks/github/ghes", GhesSecret, "shared-guid", GhesAppId);

        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(toCloud)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(toGhes)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(ghesAgain)).StatusCode); // a duplicate of ghes's, not of default's

        Assert.Equal([("default", "shared-guid"), ("ghes", "shared-guid")], await StoredAsync());
    }

    [Fact]
    public async Task TargetAppId_CheckedAgainstTheRoutesApp_403NamingItsKey()
    {
        using var forCloud = Delivery("/webhooks/github/ghes", GhesSecret, "misrouted", CloudAppId);

        await AssertRefusedAsync(forCloud, HttpStatusCode.Forbidden, "GitHub:Apps:ghes:AppId");
    }

    [Fact]
    public async Task Sha1OnlyDelivery_RefusedForAnAppOnGitHubCom_AcceptedForAnAppOnGhes()
    {
        static HttpRequestMessage Sha1Only(string path, string secret, string id, long appId)
        {
            var request = Delivery(path, secret, id, appId);
            request.Headers.Remove("X-Hub-Signature-256");
            request.Headers.Remove("X-Hub-Signature");
            request.Headers.TryAddWithoutValidation("X-Hub-Signature", Hubgate.Webhooks.WebhookSignature.SignSha1(Push, secret));
            return request;
        }

        // App default on github.com itself (GitHub:ApiBaseUrl unset), App ghes on the GHES fake.
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Webhooks:RunWorker"] = "false",
            ["GitHub:WebhookSecret"] = CloudSecret,
            ["GitHub:Apps:ghes:AppId"] = GhesAppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:Apps:ghes:PrivateKey"] = _ghes.PrivateKeyPkcs1Pem,
            ["GitHub:Apps:ghes:ApiBaseUrl"] = _ghes.ApiBaseUrl.AbsoluteUri,
            ["GitHub:Apps:ghes:WebhookSecret"] = GhesSecret,
        });
        using var client = app.CreateClient();
        using var toCloud = Sha1Only("/webhooks/github", CloudSecret, "sha1-cloud", CloudAppId);
        using var toGhes = Sha1Only("/webhooks/github/ghes", GhesSecret, "sha1-ghes", GhesAppId);

        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(toCloud)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(toGhes)).StatusCode);
    }

    [Fact]
    public async Task NamedAppsSecretRotation_TakesEffectWithoutARestart_AndOnlyForThatApp()
    {
        const string Rotated = "ghes-rotated-secret-91c3d5e7f2";
        Hubgate.TestSupport.TestSecrets.Register(Rotated, "a rotated webhook secret");
        using var before = Delivery("/webhooks/github/ghes", Rotated, "rotated-before", GhesAppId);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(before)).StatusCode);

        var configuration = (IConfigurationRoot)_app.Services.GetRequiredService<IConfiguration>();
        configuration["GitHub:Apps:ghes:WebhookSecret"] = Rotated;
        configuration["GitHub:Apps:ghes:AdditionalWebhookSecrets:0"] = GhesSecret;
        configuration.Reload();

        using var after = Delivery("/webhooks/github/ghes", Rotated, "rotated-after", GhesAppId);
        using var old = Delivery("/webhooks/github/ghes", GhesSecret, "rotated-old", GhesAppId);
        using var onDefault = Delivery("/webhooks/github", Rotated, "rotated-default", CloudAppId);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(after)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(old)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(onDefault)).StatusCode);
    }

    [Fact]
    public async Task RecoveryPerApp_ReadsEachAppsLogOnItsHost_AndRecoversIntoThatApp()
    {
        var now = DateTimeOffset.UtcNow;
        _cloud.AddHookDelivery("lost-cloud", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1), Push);
        _ghes.AddHookDelivery("lost-ghes", "push", null, "Invalid HTTP Response: 503", 503, now.AddHours(-1), Push);
        _cloud.SendWebhooksTo(_client, "/webhooks/github", CloudSecret);
        _ghes.SendWebhooksTo(_client, "/webhooks/github/ghes", GhesSecret);

        var ghesReport = await (await _client.PostAsync(new Uri("/api/deliveries/recover?app=ghes", UriKind.Relative), null))
            .Content.ReadFromJsonAsync<JsonElement>();
        await _ghes.RedeliveriesSentAsync();

        Assert.Equal("ghes", ghesReport.GetProperty("app").GetString());
        Assert.Equal(1, ghesReport.GetProperty("accepted").GetInt32());
        Assert.Single(_ghes.RedeliveryRequests);
        Assert.Empty(_cloud.RedeliveryRequests);
        Assert.Equal([("ghes", "lost-ghes")], await StoredAsync());

        var cloudReport = await (await _client.PostAsync(new Uri("/api/deliveries/recover", UriKind.Relative), null))
            .Content.ReadFromJsonAsync<JsonElement>();
        await _cloud.RedeliveriesSentAsync();

        Assert.Equal("default", cloudReport.GetProperty("app").GetString());
        Assert.Single(_cloud.RedeliveryRequests);
        Assert.Equal([("default", "lost-cloud"), ("ghes", "lost-ghes")], await StoredAsync());
        Assert.All(_ghes.Requests.Where(r => r.Path.Contains("/app/hook/deliveries", StringComparison.Ordinal)),
            r => Assert.Equal(FakeCredential.Jwt, r.Credential));

        var unknown = await _client.PostAsync(new Uri("/api/deliveries/recover?app=nope", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task SyncPerApp_FillsInstallationOneOfEachAppSeparately()
    {
        var ghes = await _client.PostAsync(new Uri("/api/sync?app=ghes", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, ghes.StatusCode);
        Assert.Equal("ghes", (await ghes.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("app").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync(new Uri("/api/sync", UriKind.Relative), null)).StatusCode);

        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var installations = (await db.Installations.AsNoTracking().Select(i => new { i.App, i.Id, i.AccountLogin }).ToListAsync())
            .Select(i => (i.App, i.Id, i.AccountLogin)).Order().ToList();
        var repositories = (await db.Repositories.AsNoTracking().Select(r => new { r.App, r.Id, r.FullName }).ToListAsync())
            .Select(r => (r.App, r.Id, r.FullName)).Order().ToList();
        Assert.Equal([("default", 1L, (string?)"cloud-org"), ("ghes", 1L, "ghes-org")], installations);
        Assert.Equal([("default", 501L, "cloud-org/cloud-repo"), ("ghes", 501L, "ghes-org/ghes-repo")], repositories);

        // Each host saw only its own App's credentials.
        Assert.DoesNotContain(_cloud.Requests, r => r.Credential == FakeCredential.Invalid);
        Assert.DoesNotContain(_ghes.Requests, r => r.Credential == FakeCredential.Invalid);
    }
}
