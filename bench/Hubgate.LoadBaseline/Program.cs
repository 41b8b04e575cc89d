using Octokit.Webhooks;
using Octokit.Webhooks.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton<WebhookEventProcessor, NoopProcessor>();
var app = builder.Build();
app.MapGitHubWebhooks("/webhooks/github", builder.Configuration["GitHub:WebhookSecret"]
    ?? throw new InvalidOperationException("Set GitHub__WebhookSecret."));
await app.RunAsync();

/// <summary>Accepts every event and does nothing with it.</summary>
internal sealed class NoopProcessor : WebhookEventProcessor;
