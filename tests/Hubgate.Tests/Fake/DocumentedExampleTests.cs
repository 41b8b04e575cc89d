using System.Globalization;
using System.Net;
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Testing;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Fake;

/// <summary>
/// The example of docs/testing-with-the-fake-github.md, verbatim between the markers: a user's service (Hubgate's
/// handler on an HttpClient, Hubgate's webhook endpoint) tested against the fake. If it stops compiling or passing,
/// the page is wrong.
/// </summary>
public sealed class DocumentedExampleTests : IAsyncLifetime
{
    // docs:begin
    private FakeGitHubServer _github = null!;
    private FakeRepository _widgets = null!;
    private readonly string _data = Directory.CreateTempSubdirectory("my-service-tests-").FullName;

    public async Task InitializeAsync()
    {
        _github = await FakeGitHubServer.StartAsync();      // http://127.0.0.1:<free port>/
        _github.AddInstallation(42, "acme");                // the primary App, installed on acme
        _widgets = _github.AddRepository(42, 1001, "acme", "widgets");
    }

    public async Task DisposeAsync()
    {
        await _github.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task CallsGitHubAsTheInstallation_AndAcceptsItsSignedDeliveries()
    {
        var app = _github.PrimaryApp;                       // its id, private key and webhook secret
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GitHub:AppId"] = app.Id.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = app.PrivateKeyPem,
            ["GitHub:WebhookSecret"] = app.WebhookSecret,
            ["GitHub:ApiBaseUrl"] = _github.ApiBaseUrl.AbsoluteUri,
            ["Hubgate:DataDirectory"] = _data,
        });
        builder.Services.AddHubgateStorage(builder.Configuration);
        builder.Services.AddGitHubApp(builder.Configuration);
        builder.Services.AddGitHubWebhooks(builder.Configuration);
        builder.Services.AddHttpClient("github", c => c.BaseAddress = _github.ApiBaseUrl)
            .AddGitHubAppAuthentication(installationId: 42);
        await using var service = builder.Build();
        service.MapGitHubWebhooks();
        await service.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        await service.StartAsync();

        // Outgoing: Hubgate's handler mints the installation token with the App's JWT and uses it.
        var client = service.Services.GetRequiredService<IHttpClientFactory>().CreateClient("github");
        using var response = await client.GetAsync(new Uri("repos/acme/widgets", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(_github.Requests, r => r.Path == "/app/installations/42/access_tokens" && r.Credential == FakeCredential.Jwt);
        Assert.Contains(_github.Requests, r => r.Path == "/repos/acme/widgets" && r.Credential == FakeCredential.InstallationToken);

        // Incoming: a push, signed with the App's webhook secret, to the service's webhook endpoint.
        var sent = await _github.SendDeliveryAsync(new Uri(new Uri(service.Urls.First()), "/webhooks/github"), "push",
            _github.Push(42, _widgets, "main", 3, DateTimeOffset.UtcNow));
        Assert.Equal(202, sent.StatusCode);

        await service.StopAsync();
    }
    // docs:end
}

/// <summary>The page shows the example as the test runs it.</summary>
public sealed class DocumentedExamplePageTests
{
    [Fact]
    public void ThePage_ShowsTheTestedExample_Verbatim()
    {
        var root = Checkout.Root;
        var test = File.ReadAllText(Path.Combine(root, "tests", "Hubgate.Tests", "Fake", "DocumentedExampleTests.cs"));
        var page = File.ReadAllText(Path.Combine(root, "docs", "testing-with-the-fake-github.md"));
        var begin = test.IndexOf("    // docs:begin\n", StringComparison.Ordinal) + "    // docs:begin\n".Length;
        var example = test[begin..test.IndexOf("    // docs:end", StringComparison.Ordinal)].TrimEnd('\n');

        Assert.Contains(example, page, StringComparison.Ordinal);
    }
}
