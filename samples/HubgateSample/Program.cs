// A service that acts as a GitHub App through the Hubgate package: it calls GitHub with an HttpClient that Hubgate
// authorizes and with Octokit, and handles `push` deliveries with a typed handler.
// Configuration (appsettings.json or environment variables): GitHub:AppId, GitHub:PrivateKeyPath (or GitHub:PrivateKey),
// GitHub:WebhookSecret, GitHub:ApiBaseUrl for GitHub Enterprise, ConnectionStrings:Hubgate.
using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.Webhooks;
using System.Text.Json;
using HubgateSample;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddHubgateStorage(builder.Configuration);
builder.Services.AddGitHubApp(builder.Configuration);
builder.Services.AddHttpClient("github").AddGitHubAppAuthentication();
builder.Services.AddSingleton<PushLog>();
builder.Services.AddGitHubWebhooks(builder.Configuration).AddHandler<PushHandler>("push");

var app = builder.Build();
await app.Services.MigrateHubgateDatabaseAsync(app.Lifetime.ApplicationStopping);

app.MapGitHubWebhooks();

// The pushes handled so far.
app.MapGet("/pushes", (PushLog log) => log.All);

// An installation's repositories through Hubgate's HttpClient handler: the request names the installation, the handler
// puts that installation's token on it (minted once, cached, refreshed ahead of expiry).
app.MapGet("/installations/{installationId:long}/repositories", async (long installationId, IHttpClientFactory clients, CancellationToken cancellationToken) =>
{
    var client = clients.CreateClient("github");
    using var request = new HttpRequestMessage(HttpMethod.Get, "installation/repositories?per_page=100").ForInstallation(installationId);
    using var response = await client.SendAsync(request, cancellationToken);
    response.EnsureSuccessStatusCode();
    using var page = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
    return page.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetProperty("full_name").GetString()).ToList();
});

// The same through Octokit, with a client from Hubgate's factory.
app.MapGet("/installations/{installationId:long}/octokit/repositories", async (long installationId, GitHubClientFactory github) =>
{
    var repositories = await github.ForInstallation(installationId).GitHubApps.Installation.GetAllRepositoriesForCurrent();
    return repositories.Repositories.Select(r => r.FullName).ToList();
});

await app.RunAsync();
