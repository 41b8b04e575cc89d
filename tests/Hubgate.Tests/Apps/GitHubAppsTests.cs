using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Apps;

/// <summary>
/// Several Apps in one deployment: <c>default</c> from today's <c>GitHub:*</c> keys beside <c>GitHub:Apps:{name}</c>
/// sections and Apps registered at run time, each acting on its own host with its own credentials.
/// </summary>
public sealed class GitHubAppsTests
{
    private static CancellationToken Timeout => new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    private static Dictionary<string, string?> TwoApps(FakeGitHubServer cloud, FakeGitHubServer enterprise)
    {
        var settings = GitHubAppHarness.Settings(cloud);
        settings["GitHub:Apps:ghes:AppId"] = enterprise.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:Apps:ghes:PrivateKey"] = enterprise.PrivateKeyPkcs8Pem;
        settings["GitHub:Apps:ghes:ApiBaseUrl"] = enterprise.ApiBaseUrl.AbsoluteUri;
        settings["GitHub:Apps:ghes:WebhookSecret"] = "ghes-webhook-secret-0042";
        return settings;
    }

    /// <summary>A fake github.com and a fake GHES (<c>/api/v3</c>, App 777), and the services configured with both Apps.</summary>
    private sealed record TwoHosts(FakeGitHubServer Cloud, FakeGitHubServer Enterprise, TestServices Services) : IAsyncDisposable
    {
        public static async Task<TwoHosts> StartAsync(bool onlyDefault = false)
        {
            var cloud = await FakeGitHubServer.StartAsync();
            var enterprise = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { PathPrefix = "/api/v3", AppId = 777, ClientId = "Iv1.enterpriseapp0001" });
            var services = await TestServices.StartAsync(onlyDefault ? GitHubAppHarness.Settings(cloud) : TwoApps(cloud, enterprise));
            return new TwoHosts(cloud, enterprise, services);
        }

        public async ValueTask DisposeAsync()
        {
            await Services.DisposeAsync();
            await Enterprise.DisposeAsync();
            await Cloud.DisposeAsync();
        }
    }

    [Fact]
    public async Task NamedAppsInConfiguration_AreListedBesideDefault_WithTheirHosts()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var (enterprise, services) = (hosts.Enterprise, hosts.Services);
        var apps = services.Get<GitHubApps>();

        Assert.Equal(["default", "ghes"], apps.All.Select(a => a.Name));
        var ghes = apps.Get("ghes");
        Assert.Equal(enterprise.ApiBaseUrl, ghes.ApiBaseUrl);
        Assert.Equal(777, ghes.Options.AppId);
        Assert.Equal(GitHubAppSource.Configuration, ghes.Source);
        Assert.Equal(TimeSpan.FromMilliseconds(20), ghes.Options.RetryDelay); // the general GitHub:RetryDelay
        Assert.Equal(new Uri(enterprise.ApiBaseUrl.GetLeftPart(UriPartial.Authority) + "/"), ghes.WebBaseUrl);
        Assert.Same(apps.Default, apps.Get("default"));
        Assert.Throws<GitHubAppNotFoundException>(() => apps.Get("staging"));
    }

    [Fact]
    public async Task EachApp_IsAuthenticatedOnItsOwnHost_WithItsOwnJwt()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var (cloud, enterprise, services) = (hosts.Cloud, hosts.Enterprise, hosts.Services);
        var factory = services.Get<GitHubClientFactory>();

        using var asGhes = factory.CreateHttpClient("ghes", installationId: null);
        using var ghesApp = await asGhes.GetAsync(new Uri("app", UriKind.Relative), Timeout);
        using var asDefault = factory.CreateHttpClient(installationId: null);
        using var defaultApp = await asDefault.GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, ghesApp.StatusCode);
        Assert.Equal(777, (await ghesApp.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("id").GetInt64());
        Assert.Equal(HttpStatusCode.OK, defaultApp.StatusCode);
        Assert.Equal(cloud.AppId, (await defaultApp.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("id").GetInt64());
        Assert.Equal(FakeCredential.Jwt, Assert.Single(enterprise.Requests).Credential);
        Assert.Equal("/app", Assert.Single(cloud.Requests).Path);
    }

    [Fact]
    public async Task InstallationOneOfEachApp_HasItsOwnToken_MintedByItsOwnHost_AndPersistedApart()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var (cloud, enterprise) = (hosts.Cloud, hosts.Enterprise);
        cloud.AddInstallation(1, "acme");
        cloud.AddRepository(1, 100, "acme", "api");
        enterprise.AddInstallation(1, "initech");
        enterprise.AddRepository(1, 900, "initech", "billing");

        async Task<string> FirstRepositoryAsync(TestServices services, string app)
        {
            using var client = services.Get<GitHubClientFactory>().CreateHttpClient(app, installationId: 1);
            using var response = await client.GetAsync(new Uri("installation/repositories", UriKind.Relative), Timeout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("repositories")[0].GetProperty("full_name").GetString()!;
        }

        Assert.Equal("acme/api", await FirstRepositoryAsync(hosts.Services, "default"));
        Assert.Equal("initech/billing", await FirstRepositoryAsync(hosts.Services, "ghes"));

        // A restart loads each App's persisted token from its own row: no new mint on either host.
        await using var restarted = await TestServices.StartAsync(TwoApps(cloud, enterprise), directory: hosts.Services.Directory);
        Assert.Equal("initech/billing", await FirstRepositoryAsync(restarted, "ghes"));
        Assert.Equal("acme/api", await FirstRepositoryAsync(restarted, "default"));
        Assert.Equal(1, cloud.MintCountFor(1));
        Assert.Equal(1, enterprise.MintCountFor(1));
    }

    [Fact]
    public async Task AnOctokitClientForANamedApp_UsesThatAppsHost()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var (cloud, services) = (hosts.Cloud, hosts.Services);

        var app = await services.Get<GitHubClientFactory>().ForApp("ghes").GitHubApps.GetCurrent();

        Assert.Equal(777, app.Id);
        Assert.Empty(cloud.Requests);
        Assert.Throws<GitHubAppNotFoundException>(() => services.Get<GitHubClientFactory>().ForInstallation("nope", 1));
    }

    [Fact]
    public async Task RateLimitFigures_AreKeptPerApp()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var services = hosts.Services;

        using var asGhes = services.Get<GitHubClientFactory>().CreateHttpClient("ghes", installationId: null);
        using var response = await asGhes.GetAsync(new Uri("app", UriKind.Relative), Timeout);

        var apps = services.Get<GitHubApps>();
        Assert.NotNull(apps.Get("ghes").RateLimits.ForApp);
        Assert.Null(apps.Default.RateLimits.ForApp);
        Assert.Same(apps.Default.RateLimits, services.Get<GitHubRateLimits>());
    }

    [Fact]
    public async Task AnAppRegisteredAtRunTime_ActsAtOnce_AndStopsWhenUnregistered()
    {
        await using var hosts = await TwoHosts.StartAsync(onlyDefault: true);
        var (enterprise, services) = (hosts.Enterprise, hosts.Services);
        var apps = services.Get<GitHubApps>();

        var added = apps.Register(new GitHubAppRegistration("customer-ghes", 777, null, null, enterprise.PrivateKeyPkcs1Pem,
            enterprise.ApiBaseUrl, null, "stored-webhook-secret-1", [], "customer-app"));
        using var client = services.Get<GitHubClientFactory>().CreateHttpClient("customer-ghes", installationId: null);
        using var response = await client.GetAsync(new Uri("app", UriKind.Relative), Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(GitHubAppSource.Database, added.Source);
        Assert.Equal("customer-app", added.Slug);
        Assert.Contains(added, apps.All);
        Assert.True(apps.Unregister("customer-ghes"));
        Assert.False(apps.TryGet("customer-ghes", out var _));
        Assert.Throws<GitHubAppNotFoundException>(() => services.Get<GitHubClientFactory>().CreateHttpClient("customer-ghes", null));
    }

    [Fact]
    public async Task Register_RefusesAConfiguredName_TheSameAppTwice_AndABadKey()
    {
        await using var cloud = await FakeGitHubServer.StartAsync();
        await using var services = await TestServices.StartAsync(GitHubAppHarness.Settings(cloud));
        var apps = services.Get<GitHubApps>();
        GitHubAppRegistration Registration(string name, long appId, string key) =>
            new(name, appId, null, null, key, cloud.ApiBaseUrl, null, null, [], null);

        var taken = Assert.Throws<ArgumentException>(() => apps.Register(Registration("default", 99, cloud.PrivateKeyPkcs1Pem)));
        var twice = Assert.Throws<ArgumentException>(() => apps.Register(Registration("copy", cloud.AppId, cloud.PrivateKeyPkcs1Pem)));
        var badKey = Assert.Throws<ArgumentException>(() => apps.Register(Registration("broken", 99, "not a key")));
        var badName = Assert.Throws<ArgumentException>(() => apps.Register(Registration("Bad_Name", 99, cloud.PrivateKeyPkcs1Pem)));

        Assert.Contains("configured", taken.Message, StringComparison.Ordinal);
        Assert.Contains("same App", twice.Message, StringComparison.Ordinal);
        Assert.Contains("PrivateKey", badKey.Message, StringComparison.Ordinal);
        Assert.Contains("a-z, 0-9", badName.Message, StringComparison.Ordinal);
        Assert.Equal(["default"], apps.All.Select(a => a.Name));
    }

    [Theory]
    [InlineData("GitHub:Apps:ghes:PrivateKey", null, "GitHub:Apps:ghes:PrivateKeyPath (or GitHub:Apps:ghes:PrivateKey)")]
    [InlineData("GitHub:Apps:ghes:PrivateKey", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----", "GitHub:Apps:ghes:PrivateKey: not an RSA private key")]
    [InlineData("GitHub:Apps:ghes:ApiBaseUrl", "ghes.example.com/api/v3", "GitHub:Apps:ghes:ApiBaseUrl must be an absolute")]
    [InlineData("GitHub:Apps:ghes:AppId", "12345", "are the same App (id 12345")]
    public async Task AConfiguredAppThatCannotWork_StopsStartUp_NamingTheKey(string key, string? value, string expected)
    {
        await using var cloud = await FakeGitHubServer.StartAsync(new FakeGitHubOptions { AppId = 12345 });
        var settings = GitHubAppHarness.Settings(cloud);
        settings["GitHub:Apps:ghes:AppId"] = "777";
        settings["GitHub:Apps:ghes:PrivateKey"] = cloud.PrivateKeyPkcs1Pem;
        settings["GitHub:Apps:ghes:ApiBaseUrl"] = cloud.ApiBaseUrl.AbsoluteUri;
        settings[key] = value;

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var services = await TestServices.StartAsync(settings);
            _ = services.Get<IOptionsMonitor<GitHubAppsOptions>>().CurrentValue;
        });

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(cloud.PrivateKeyPkcs1Pem.Split('\n')[1], failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Staging")]
    [InlineData("default")]
    public void AnInvalidAppName_IsRefused_NamingTheSection(string name)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"GitHub:Apps:{name}:AppId"] = "5",
        }).Build();
        var options = new GitHubAppsOptions();
        GitHubAppsOptions.Read(options, configuration);

        var result = new GitHubAppsOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"GitHub:Apps:{name}", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void NamedApps_TakeTheGeneralSettings_ButNotDefaultsIdentity()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GitHub:AppId"] = "1",
            ["GitHub:WebhookSecret"] = "default-secret-value",
            ["GitHub:RequestTimeout"] = "00:00:03",
            ["GitHub:Apps:staging:AppId"] = "2",
            ["GitHub:Apps:staging:MaxRateLimitWait"] = "00:01:00",
        }).Build();
        var options = new GitHubAppsOptions();
        GitHubAppsOptions.Read(options, configuration);

        var staging = options.Apps["staging"];
        Assert.Equal(2, staging.AppId);
        Assert.Null(staging.WebhookSecret);
        Assert.Equal(TimeSpan.FromSeconds(3), staging.RequestTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), staging.MaxRateLimitWait);
        Assert.Equal(new Uri("https://api.github.com/"), staging.ApiBaseUrl);
        Assert.Equal(1, options.Apps["default"].AppId);
    }

    [Fact]
    public async Task ANamedAppsWebhookSecret_RotatesWithoutARestart()
    {
        await using var hosts = await TwoHosts.StartAsync();
        var services = hosts.Services;
        var ghes = services.Get<GitHubApps>().Get("ghes");
        var configuration = (IConfigurationRoot)services.Get<IConfiguration>();

        configuration["GitHub:Apps:ghes:WebhookSecret"] = "ghes-webhook-secret-0043";
        configuration["GitHub:Apps:ghes:AdditionalWebhookSecrets:0"] = "ghes-webhook-secret-0042";
        configuration.Reload();

        Assert.Equal(["ghes-webhook-secret-0043", "ghes-webhook-secret-0042"], ghes.WebhookSecrets.Select(System.Text.Encoding.UTF8.GetString));
    }

    [Theory]
    [InlineData("https://api.github.com/", "https://github.com/")]
    [InlineData("https://api.acme.ghe.com/", "https://acme.ghe.com/")]
    [InlineData("https://ghe.example.com/api/v3/", "https://ghe.example.com/")]
    public void TheWebRoot_IsDerivedFromTheApiBase(string api, string web) =>
        Assert.Equal(new Uri(web), GitHubApp.DeriveWebBaseUrl(new Uri(api)));
}
