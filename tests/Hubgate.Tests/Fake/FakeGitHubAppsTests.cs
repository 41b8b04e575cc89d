using System.Net;
using System.Text.Json;
using Hubgate.Testing;

namespace Hubgate.Tests.Fake;

/// <summary>
/// Several Apps on one fake host: a JWT's issuer picks the App and its key, and an App's JWT sees, reads and mints only
/// for its own installations (GitHub's 404 for another App's), with a delivery log of its own. The installation as
/// <c>GET /app/installations/{id}</c> answers it, which Hubgate's setup callback relies on.
/// </summary>
public sealed class FakeGitHubAppsTests : IAsyncLifetime
{
    private readonly FakeCalls _calls = new();
    private FakeGitHubServer _gitHub = null!;
    private FakeApp _second = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _second = _gitHub.AddApp("second-app", permissions: new Dictionary<string, string> { ["issues"] = "write" }, events: ["issues"]);
        _gitHub.AddInstallation(1, "acme");
        _gitHub.InstallApp(_second.Id, 2, "globex");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
    }

    private Uri Api(string path) => new(_gitHub.ApiBaseUrl, path);

    [Fact]
    public void Apps_ListsThePrimaryAppFirst_ThenTheOthers_EachWithItsOwnKey()
    {
        Assert.Equal([_gitHub.AppId, _second.Id], _gitHub.Apps.Select(a => a.Id));
        Assert.NotEqual(_gitHub.PrivateKeyPkcs1Pem, _second.PrivateKeyPem);
        Assert.NotEqual(_gitHub.ClientId, _second.ClientId);
        Assert.DoesNotContain(_second.WebhookSecret, _second.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AppJwt_AnswersAsItsOwnApp()
    {
        var (status, app, _) = await _calls.GetAsync(Api("app"), FakeCalls.JwtOf(_gitHub, _second));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(_second.Id, app.GetProperty("id").GetInt64());
        Assert.Equal("second-app", app.GetProperty("slug").GetString());
        Assert.Equal(1, app.GetProperty("installations_count").GetInt32());
        Assert.Equal("read", app.GetProperty("permissions").GetProperty("metadata").GetString());
    }

    [Fact]
    public async Task AppJwt_ByClientId_SelectsTheApp()
    {
        var jwt = Infrastructure.Jwt.Sign(_second.PrivateKeyPem, _second.ClientId, _gitHub.Clock.UtcNow);

        var (status, app, _) = await _calls.GetAsync(Api("app"), jwt);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(_second.Id, app.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task AppJwt_NamingAnAppButSignedWithAnothersKey_IsRefused()
    {
        var forged = Infrastructure.Jwt.Sign(_gitHub.PrivateKeyPkcs1Pem, _second.Id, _gitHub.Clock.UtcNow);

        var (status, body, _) = await _calls.GetAsync(Api("app"), forged);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("A JSON web token could not be decoded", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AppJwt_ListsOnlyItsOwnInstallations()
    {
        var (_, primary, _) = await _calls.GetAsync(Api("app/installations"), FakeCalls.JwtOf(_gitHub, _gitHub.PrimaryApp));
        var (_, second, _) = await _calls.GetAsync(Api("app/installations"), FakeCalls.JwtOf(_gitHub, _second));

        Assert.Equal([1L], primary.EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
        Assert.Equal([2L], second.EnumerateArray().Select(i => i.GetProperty("id").GetInt64()));
    }

    [Theory]
    [InlineData("GET", "app/installations/{0}")]
    [InlineData("POST", "app/installations/{0}/access_tokens")]
    [InlineData("GET", "orgs/{1}/installation")]
    public async Task AppJwt_GetsNotFound_ForAnotherAppsInstallation(string method, string template)
    {
        var primaryJwt = FakeCalls.JwtOf(_gitHub, _gitHub.PrimaryApp);
        var secondJwt = FakeCalls.JwtOf(_gitHub, _second);

        var (primaryOnSecond, _, _) = await _calls.SendAsync(new HttpMethod(method), Api(string.Format(null, template, 2, "globex")), primaryJwt, method == "POST" ? new { } : null);
        var (secondOnPrimary, _, _) = await _calls.SendAsync(new HttpMethod(method), Api(string.Format(null, template, 1, "acme")), secondJwt, method == "POST" ? new { } : null);
        var (secondOnOwn, _, _) = await _calls.SendAsync(new HttpMethod(method), Api(string.Format(null, template, 2, "globex")), secondJwt, method == "POST" ? new { } : null);

        Assert.Equal(HttpStatusCode.NotFound, primaryOnSecond);
        Assert.Equal(HttpStatusCode.NotFound, secondOnPrimary);
        Assert.Equal(method == "POST" ? HttpStatusCode.Created : HttpStatusCode.OK, secondOnOwn);
        Assert.Equal(0, _gitHub.MintCountFor(1));
    }

    [Fact]
    public async Task Installation_AsTheSetupCallbackReadsIt_CarriesTheAppsGrant()
    {
        var (status, installation, _) = await _calls.GetAsync(Api("app/installations/2"), FakeCalls.JwtOf(_gitHub, _second));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, installation.GetProperty("id").GetInt64());
        Assert.Equal(_second.Id, installation.GetProperty("app_id").GetInt64());
        Assert.Equal("second-app", installation.GetProperty("app_slug").GetString());
        Assert.Equal("globex", installation.GetProperty("account").GetProperty("login").GetString());
        Assert.Equal("Organization", installation.GetProperty("target_type").GetString());
        Assert.Equal("selected", installation.GetProperty("repository_selection").GetString());
        Assert.Equal("write", installation.GetProperty("permissions").GetProperty("issues").GetString());
        Assert.Equal("read", installation.GetProperty("permissions").GetProperty("metadata").GetString());
        Assert.False(installation.GetProperty("permissions").TryGetProperty("contents", out _));
        Assert.Equal(["issues"], installation.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(JsonValueKind.Null, installation.GetProperty("suspended_at").ValueKind);
        Assert.Equal($"{_gitHub.WebBaseUrl}organizations/globex/settings/installations/2", installation.GetProperty("html_url").GetString());
    }

    [Fact]
    public async Task Installation_Suspended_ShowsWhen_AndUninstalled_IsNotFound()
    {
        _gitHub.SuspendInstallation(2);
        var (_, suspended, _) = await _calls.GetAsync(Api("app/installations/2"), FakeCalls.JwtOf(_gitHub, _second));
        _gitHub.RemoveInstallation(2);
        var (removed, _, _) = await _calls.GetAsync(Api("app/installations/2"), FakeCalls.JwtOf(_gitHub, _second));

        Assert.Equal(JsonValueKind.String, suspended.GetProperty("suspended_at").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, removed);
    }

    [Fact]
    public async Task HookDeliveryLog_IsPerApp()
    {
        var now = _gitHub.Clock.UtcNow;
        var primaryDelivery = _gitHub.AddHookDelivery("11111111-0000-0000-0000-000000000001", "push", null, "OK", 200, now, installationId: 1);
        var secondDelivery = _gitHub.AddHookDelivery("22222222-0000-0000-0000-000000000002", "issues", "opened", "OK", 200, now, installationId: 2, appId: _second.Id);

        var (_, primaryLog, _) = await _calls.GetAsync(Api("app/hook/deliveries"), FakeCalls.JwtOf(_gitHub, _gitHub.PrimaryApp));
        var (_, secondLog, _) = await _calls.GetAsync(Api("app/hook/deliveries"), FakeCalls.JwtOf(_gitHub, _second));
        var (crossRedelivery, _, _) = await _calls.SendAsync(HttpMethod.Post, Api($"app/hook/deliveries/{secondDelivery.Id}/attempts"), FakeCalls.JwtOf(_gitHub, _gitHub.PrimaryApp), new { });
        var (ownRedelivery, _, _) = await _calls.SendAsync(HttpMethod.Post, Api($"app/hook/deliveries/{secondDelivery.Id}/attempts"), FakeCalls.JwtOf(_gitHub, _second), new { });
        await _gitHub.RedeliveriesSentAsync();

        Assert.Equal([primaryDelivery.Guid], primaryLog.EnumerateArray().Select(d => d.GetProperty("guid").GetString()));
        Assert.Equal([secondDelivery.Guid], secondLog.EnumerateArray().Select(d => d.GetProperty("guid").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, crossRedelivery);
        Assert.Equal(HttpStatusCode.Accepted, ownRedelivery);
        Assert.Equal(_second.Id, _gitHub.HookDeliveryLog.Single(d => d.Redelivery).AppId);
    }

    [Fact]
    public async Task HookConfig_IsTheAppsOwn()
    {
        var third = _gitHub.AddApp("third-app", hookUrl: "https://third.example/hooks");

        var (_, config, _) = await _calls.GetAsync(Api("app/hook/config"), FakeCalls.JwtOf(_gitHub, third));

        Assert.Equal("https://third.example/hooks", config.GetProperty("url").GetString());
    }

    [Fact]
    public void InstallationIds_AreUniqueOnAHost()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => _gitHub.InstallApp(_second.Id, 1, "initech"));

        Assert.Contains("unique per host", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddApp_RefusesATakenIdOrSlug()
    {
        Assert.Throws<InvalidOperationException>(() => _gitHub.AddApp("other", id: _second.Id));
        Assert.Throws<InvalidOperationException>(() => _gitHub.AddApp("second-app"));
        Assert.Throws<KeyNotFoundException>(() => _gitHub.App(999_999));
    }

    [Fact]
    public async Task Redelivery_OfAnAppsDelivery_IsSignedWithThatAppsSecret_AndNamesThatApp()
    {
        var receiver = new CapturingHandler();
        using var client = new HttpClient(receiver) { BaseAddress = new Uri("http://hubgate.invalid/") };
        _gitHub.SendWebhooksTo(_second.Id, client, "/webhooks/github/second");
        var body = "{\"action\":\"opened\"}"u8.ToArray();
        var delivery = _gitHub.AddHookDelivery("33333333-0000-0000-0000-000000000003", "issues", "opened", "failed to connect to host", 0, _gitHub.Clock.UtcNow, body, 2, appId: _second.Id);

        var (status, _, _) = await _calls.SendAsync(HttpMethod.Post, Api($"app/hook/deliveries/{delivery.Id}/attempts"), FakeCalls.JwtOf(_gitHub, _second), new { });
        await _gitHub.RedeliveriesSentAsync();

        Assert.Equal(HttpStatusCode.Accepted, status);
        var sent = Assert.Single(receiver.Requests);
        Assert.Equal("/webhooks/github/second", sent.Path);
        Assert.Equal(_second.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), sent.TargetId);
        Assert.Equal(WebhookFixtures.SignSha256(body, _second.WebhookSecret), sent.Signature);
    }

    /// <summary>Plays Hubgate's webhook endpoint: records what arrives and answers 202.</summary>
    private sealed class CapturingHandler : HttpMessageHandler
    {
        public List<(string Path, string TargetId, string Signature)> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add((request.RequestUri!.AbsolutePath, request.Headers.GetValues("X-GitHub-Hook-Installation-Target-ID").Single(),
                    request.Headers.GetValues("X-Hub-Signature-256").Single()));
            }

            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Accepted));
        }
    }
}
