using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hubgate.Testing;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Options;

/// <summary>
/// The toolkit set up only in code — every <c>AddXxx</c> given an <c>Action&lt;TOptions&gt;</c>, on a host with no
/// configuration at all — authorizes GitHub requests, receives webhooks, and refuses bad settings at start-up.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class ConfiguredInCodeTests : IAsyncLifetime
{
    private const string Secret = "in-code-webhook-secret-5e2a";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"));
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddRepository(1, 100, "acme", "api");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task GitHubAppConfiguredInCode_AuthorizesRequestsWithAnInstallationToken()
    {
        await using var app = await StartAsync(services => services.AddHttpClient("acme").AddGitHubAppAuthentication(installationId: 1));
        using var client = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("acme");

        using var response = await client.GetAsync(new Uri("repos/acme/api", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(_gitHub.Requests, r => r.Path == "/repos/acme/api");
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
        Assert.Equal(1, seen.InstallationId);
        Assert.Equal(_gitHub.ApiBaseUrl, app.Services.GetRequiredService<IOptions<GitHubAppOptions>>().Value.ApiBaseUrl);
    }

    [Fact]
    public async Task WebhooksConfiguredInCode_VerifyStoreAndHandleADelivery_WithTheSettingsGiven()
    {
        var handled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(
            webhookOptions: options => options.MaxAttempts = 2,
            handlers: webhooks => webhooks.On("push", (context, _) =>
            {
                handled.TrySetResult(context.DeliveryId);
                return Task.CompletedTask;
            }));
        using var client = new HttpClient { BaseAddress = Address(app) };

        using var accepted = await PostAsync(client, "in-code-1", Secret);
        using var forged = await PostAsync(client, "in-code-2", "not-the-secret-7c1b");

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal("in-code-1", await handled.Task.WaitAsync(Timeout));
        Assert.Equal(2, app.Services.GetRequiredService<IOptions<WebhookOptions>>().Value.MaxAttempts);
    }

    [Fact]
    public async Task AWebhookSettingOutOfRangeInCode_StopsStartUp_NamingTheKeyAndTheValue()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = await StartAsync(webhookOptions: options => options.MaxAttempts = 0);
        });

        Assert.Contains("Webhooks:MaxAttempts must be between 1 and 1000 (was 0).", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppSettingOutOfRangeInCode_StopsStartUp_NamingTheKey()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = await StartAsync(app: options => options.RequestTimeout = TimeSpan.Zero);
        });

        Assert.Contains("GitHub:RequestTimeout must be between", failure.Message, StringComparison.Ordinal);
    }

    private async Task<WebApplication> StartAsync(
        Action<IServiceCollection>? configure = null,
        Action<WebhookOptions>? webhookOptions = null,
        Action<WebhookBuilder>? handlers = null,
        Action<GitHubAppOptions>? app = null)
    {
        Directory.CreateDirectory(_directory);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        builder.Services.AddHubgateStorage(options => options.ConnectionString = $"Data Source={Path.Combine(_directory, "hubgate.db")}");
        builder.Services.AddGitHubApp(options =>
        {
            options.AppId = _gitHub.AppId;
            options.PrivateKey = _gitHub.PrivateKeyPkcs1Pem;
            options.ApiBaseUrl = _gitHub.ApiBaseUrl;
            options.WebhookSecret = Secret;
            app?.Invoke(options);
        });
        var webhooks = builder.Services.AddGitHubWebhooks(options => webhookOptions?.Invoke(options));
        handlers?.Invoke(webhooks);
        configure?.Invoke(builder.Services);

        var host = builder.Build();
        host.MapGitHubWebhooks();
        try
        {
            await host.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
            await host.StartAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string deliveryId, string secret)
    {
        var body = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/main","repository":{"id":100,"full_name":"acme/api"}}""");
        var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/github") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("X-GitHub-Event", "push");
        request.Headers.Add("X-GitHub-Delivery", deliveryId);
        request.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        return client.SendAsync(request);
    }
}
