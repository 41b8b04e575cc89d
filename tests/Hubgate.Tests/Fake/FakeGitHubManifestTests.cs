using System.Net;
using System.Text.Json;
using Hubgate.Testing;
using Microsoft.AspNetCore.WebUtilities;

namespace Hubgate.Tests.Fake;

/// <summary>
/// GitHub's App manifest flow on the fake: the form at the web root redirects back with a one-use code, which
/// <c>POST /app-manifests/{code}/conversions</c> turns into the App and its credentials within an hour; the new App
/// then authenticates with the key it came with.
/// </summary>
public sealed class FakeGitHubManifestTests : IAsyncLifetime
{
    private const string Redirect = "https://hubgate.example/setup/apps/callback";
    private readonly FakeCalls _calls = new();
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync() => _gitHub = await FakeGitHubServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
    }

    private static string Manifest(string? name = "Hubgate Acme", string? redirectUrl = Redirect, object? hook = null, object? permissions = null,
        string[]? events = null, string? url = "https://hubgate.example") =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["name"] = name,
            ["url"] = url,
            ["hook_attributes"] = hook ?? new { url = "https://hubgate.example/webhooks/github/acme" },
            ["redirect_url"] = redirectUrl,
            ["setup_url"] = "https://hubgate.example/setup/installations/callback",
            ["callback_urls"] = new[] { "https://hubgate.example/oauth" },
            ["public"] = false,
            ["request_oauth_on_install"] = false,
            ["setup_on_update"] = true,
            ["default_permissions"] = permissions ?? new { contents = "read", pull_requests = "write", issues = "read" },
            ["default_events"] = events ?? ["push", "pull_request", "issues"],
        }.Where(p => p.Value is not null).ToDictionary());

    private static Dictionary<string, string?> QueryOf(HttpResponseMessage response) =>
        QueryHelpers.ParseQuery(response.Headers.Location!.Query).ToDictionary(q => q.Key, q => (string?)q.Value.ToString());

    private async Task<string> CodeAsync(string? organization = null, string manifest = "")
    {
        using var response = await _calls.PostManifestAsync(_gitHub, organization, manifest.Length > 0 ? manifest : Manifest(), "s1");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return QueryOf(response)["code"]!;
    }

    private Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> ConvertAsync(string code) =>
        _calls.SendAsync(HttpMethod.Post, new Uri(_gitHub.ApiBaseUrl, $"app-manifests/{code}/conversions"));

    [Fact]
    public async Task Manifest_RedirectsToTheRedirectUrl_WithACodeAndTheState()
    {
        using var response = await _calls.PostManifestAsync(_gitHub, null, Manifest(), "state-123");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(Redirect + "?code=", response.Headers.Location!.AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal("state-123", QueryOf(response)["state"]);
        var recorded = Assert.Single(_gitHub.ManifestRequests);
        Assert.Equal(("state-123", 302, (string?)null), (recorded.State, recorded.Status, recorded.Organization));
    }

    [Fact]
    public async Task Manifest_TakesTheStateFromTheQueryString_AsGitHubDocumentsIt()
    {
        using var response = await _calls.PostManifestAsync(_gitHub, null, Manifest(), query: "?state=from%20query");

        Assert.Equal("from query", QueryOf(response)["state"]);
    }

    [Fact]
    public async Task Conversion_ReturnsTheAppWithItsCredentials_AndTheAppAuthenticatesAtOnce()
    {
        var code = await CodeAsync();

        var (status, app, _) = await ConvertAsync(code);

        Assert.Equal(HttpStatusCode.Created, status);
        var id = app.GetProperty("id").GetInt64();
        Assert.Equal("hubgate-acme", app.GetProperty("slug").GetString());
        Assert.Equal("Hubgate Acme", app.GetProperty("name").GetString());
        Assert.Equal(("hubgate-admin", "User"), (app.GetProperty("owner").GetProperty("login").GetString(), app.GetProperty("owner").GetProperty("type").GetString()));
        Assert.Equal("https://hubgate.example", app.GetProperty("external_url").GetString());
        Assert.Equal($"{_gitHub.WebBaseUrl}apps/hubgate-acme", app.GetProperty("html_url").GetString());
        foreach (var field in new[] { "node_id", "client_id", "client_secret", "webhook_secret", "created_at", "updated_at" })
        {
            Assert.False(string.IsNullOrEmpty(app.GetProperty(field).GetString()), field);
        }

        Assert.Equal("write", app.GetProperty("permissions").GetProperty("pull_requests").GetString());
        Assert.Equal("read", app.GetProperty("permissions").GetProperty("metadata").GetString());
        Assert.Equal(["push", "pull_request", "issues"], app.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        var pem = app.GetProperty("pem").GetString()!;
        Assert.StartsWith("-----BEGIN RSA PRIVATE KEY-----", pem, StringComparison.Ordinal);
        Assert.NotEmpty(Hubgate.TestSupport.TestSecrets.FindIn(pem));
        Assert.NotEmpty(Hubgate.TestSupport.TestSecrets.FindIn(app.GetProperty("webhook_secret").GetString()!));
        Assert.NotEmpty(Hubgate.TestSupport.TestSecrets.FindIn(app.GetProperty("client_secret").GetString()!));

        var registered = _gitHub.App(id);
        Assert.Equal(("https://hubgate.example/webhooks/github/acme", "https://hubgate.example/setup/installations/callback", true),
            (registered.HookUrl, registered.SetupUrl, registered.SetupOnUpdate));
        var jwt = Infrastructure.Jwt.Sign(pem, id, _gitHub.Clock.UtcNow);
        var (appStatus, seen, _) = await _calls.GetAsync(new Uri(_gitHub.ApiBaseUrl, "app"), jwt);
        Assert.Equal(HttpStatusCode.OK, appStatus);
        Assert.Equal(id, seen.GetProperty("id").GetInt64());
        _gitHub.InstallApp(id, 42, "acme");
        var token = await _calls.MintAsync(_gitHub, 42, jwt);
        Assert.StartsWith("ghs_", token, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Conversion_ForAnOrganizationForm_IsOwnedByTheOrganization()
    {
        var code = await CodeAsync("acme-corp");

        var (status, app, _) = await ConvertAsync(code);

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(("acme-corp", "Organization"), (app.GetProperty("owner").GetProperty("login").GetString(), app.GetProperty("owner").GetProperty("type").GetString()));
        Assert.Equal("acme-corp", Assert.Single(_gitHub.ManifestRequests).Organization);
    }

    [Fact]
    public async Task Conversion_OfAUsedCode_IsNotFound()
    {
        var code = await CodeAsync();
        var (first, _, _) = await ConvertAsync(code);

        var (replayed, body, _) = await ConvertAsync(code);

        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.NotFound, replayed);
        Assert.Equal("Not Found", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Conversion_AfterAnHour_IsNotFound()
    {
        var code = await CodeAsync();
        _gitHub.Clock.Offset += FakeGitHubServer.ManifestCodeLifetime;

        var (status, _, _) = await ConvertAsync(code);

        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Conversion_OfAnUnknownCode_IsNotFound_AndAGetIsNoConversion()
    {
        var code = await CodeAsync();

        var (unknown, _, _) = await ConvertAsync("0123456789abcdef0123");
        var (get, _, _) = await _calls.GetAsync(new Uri(_gitHub.ApiBaseUrl, $"app-manifests/{code}/conversions"));
        var (stillThere, _, _) = await ConvertAsync(code);

        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Equal(HttpStatusCode.NotFound, get);
        Assert.Equal(HttpStatusCode.Created, stillThere);
    }

    [Fact]
    public async Task Manifest_WithoutRedirectUrl_IsRefused422()
    {
        using var response = await _calls.PostManifestAsync(_gitHub, null, Manifest(redirectUrl: null), "s");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Null(response.Headers.Location);
        var recorded = Assert.Single(_gitHub.ManifestRequests);
        Assert.Equal((422, (long?)null), (recorded.Status, recorded.AppId));
        Assert.Contains(recorded.Errors, e => e.Contains("redirect_url", StringComparison.Ordinal));
        Assert.Single(_gitHub.Apps);
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "not json", "manifest" },
        { "[1, 2]", "manifest" },
        { Manifest(url: null), "url" },
        { Manifest(redirectUrl: "/setup/apps/callback"), "redirect_url" },
        { Manifest(hook: new { active = true }), "hook_attributes.url" },
        { Manifest(hook: new { url = "ftp://hubgate.example/hooks" }), "hook_attributes.url" },
        { Manifest(name: new string('a', 35)), "Name is too long" },
        { Manifest(permissions: new { contents = "read" }, events: ["pull_request"]), "pull_request" },
        { Manifest(permissions: new { contents = "everything" }), "contents" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Manifest_ThatGitHubWouldRefuse_Is422WithTheReason(string manifest, string reason)
    {
        using var response = await _calls.PostManifestAsync(_gitHub, null, manifest, "s");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(Assert.Single(_gitHub.ManifestRequests).Errors, e => e.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Manifest_WithoutAManifestField_Is422()
    {
        using var response = await _calls.PostManifestAsync(_gitHub, null, manifest: null, "s");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    [Fact]
    public async Task Manifest_WithoutHookAttributes_OrAName_IsAccepted_WithAGeneratedName()
    {
        var manifest = JsonSerializer.Serialize(new { url = "https://hubgate.example", redirect_url = Redirect });

        var (status, app, _) = await ConvertAsync(await CodeAsync(manifest: manifest));

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.StartsWith("hubgate-admin-app-", app.GetProperty("slug").GetString(), StringComparison.Ordinal);
        Assert.False(_gitHub.App(app.GetProperty("id").GetInt64()).HookActive);
    }

    [Fact]
    public async Task Manifest_WithATakenName_Is422()
    {
        await CodeAsync();

        using var response = await _calls.PostManifestAsync(_gitHub, "other-org", Manifest(name: "hubgate ACME"), "s");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("Name has already been taken", _gitHub.ManifestRequests[^1].Errors);
    }

    [Fact]
    public async Task Manifest_OnEnterpriseServer_IsPostedAtTheWebRoot_AndConvertedBelowTheApiPrefix()
    {
        await using var enterprise = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { PathPrefix = "/api/v3", OwnKey = true });
        var underPrefix = new Uri(enterprise.ApiBaseUrl, "settings/apps/new");
        using var misplaced = await _calls.PostFormAsync(underPrefix, new Dictionary<string, string> { ["manifest"] = Manifest() });

        using var response = await _calls.PostManifestAsync(enterprise, "acme", Manifest(), "s");
        var code = QueryOf(response)["code"]!;
        var (atRoot, _, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(enterprise.WebBaseUrl, $"app-manifests/{code}/conversions"));
        var (converted, app, _) = await _calls.SendAsync(HttpMethod.Post, new Uri(enterprise.ApiBaseUrl, $"app-manifests/{code}/conversions"));

        Assert.Equal(HttpStatusCode.Unauthorized, misplaced.StatusCode); // an API route to GHES, which knows no such route
        Assert.Equal("/organizations/acme/settings/apps/new", Assert.Single(enterprise.ManifestRequests).Path);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, atRoot);
        Assert.Equal(HttpStatusCode.Created, converted);
        Assert.Equal($"{enterprise.WebBaseUrl}github-apps/hubgate-acme", app.GetProperty("html_url").GetString());
    }

    [Fact]
    public async Task BrowserInstall_OfThePrivateApp_OnItsOwnersAccount_RedirectsToTheSetupUrl_WithTheInstallation()
    {
        var (_, app, _) = await ConvertAsync(await CodeAsync("acme-corp"));
        var id = app.GetProperty("id").GetInt64();
        _gitHub.InstallTarget = ("acme-corp", "Organization");

        var (status, _, response) = await _calls.GetAsync(new Uri(_gitHub.InstallUrl(id) + "?state=install-1"));

        Assert.Equal(HttpStatusCode.Found, status);
        var location = response.Headers.Location!;
        Assert.StartsWith("https://hubgate.example/setup/installations/callback?installation_id=", location.AbsoluteUri, StringComparison.Ordinal);
        var query = QueryOf(response);
        Assert.Equal(("install", "install-1"), (query["setup_action"], query["state"]));
        var jwt = Infrastructure.Jwt.Sign(app.GetProperty("pem").GetString()!, id, _gitHub.Clock.UtcNow);
        var (found, installation, _) = await _calls.GetAsync(new Uri(_gitHub.ApiBaseUrl, $"app/installations/{query["installation_id"]}"), jwt);
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.Equal("acme-corp", installation.GetProperty("account").GetProperty("login").GetString());
        Assert.Equal("write", installation.GetProperty("permissions").GetProperty("pull_requests").GetString());
        Assert.Equal(["push", "pull_request", "issues"], installation.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task BrowserInstall_OnAnAccountThatHasTheApp_IsAnUpdate_OfTheSameInstallation()
    {
        var (_, app, _) = await ConvertAsync(await CodeAsync());
        var url = _gitHub.InstallUrl(app.GetProperty("id").GetInt64());
        var (_, _, first) = await _calls.GetAsync(url);

        var (_, _, second) = await _calls.GetAsync(url);

        Assert.Equal("update", QueryOf(second)["setup_action"]);
        Assert.Equal(QueryOf(first)["installation_id"], QueryOf(second)["installation_id"]);
    }

    [Fact]
    public async Task BrowserInstall_OfAPrivateApp_OnAnotherAccount_IsNotFound()
    {
        var (_, app, _) = await ConvertAsync(await CodeAsync("acme-corp"));
        _gitHub.InstallTarget = ("globex", "Organization");

        var (status, _, _) = await _calls.GetAsync(_gitHub.InstallUrl(app.GetProperty("id").GetInt64()));

        Assert.Equal(HttpStatusCode.NotFound, status);
        var jwt = Infrastructure.Jwt.Sign(app.GetProperty("pem").GetString()!, app.GetProperty("id").GetInt64(), _gitHub.Clock.UtcNow);
        var (_, installations, _) = await _calls.GetAsync(new Uri(_gitHub.ApiBaseUrl, "app/installations"), jwt);
        Assert.Equal(0, installations.GetArrayLength());
    }
}
