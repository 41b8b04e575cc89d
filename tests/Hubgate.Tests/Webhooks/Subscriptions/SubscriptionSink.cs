using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Octokit.Webhooks;
using Octokit.Webhooks.AspNetCore;
using Octokit.Webhooks.Events;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Hubgate.Tests.Webhooks.Subscriptions;

/// <summary>
/// A subscriber as services write them, on Kestrel at 127.0.0.1: <c>/octokit</c> is Octokit.Webhooks.AspNetCore's own
/// receiver (it verifies <c>X-Hub-Signature-256</c> with the secret and answers 401 otherwise), <c>/standard</c>
/// verifies with the StandardWebhooks package, and <c>/status/{code}</c>, <c>/redirect</c> and <c>/hang</c> misbehave.
/// </summary>
internal sealed class SubscriptionSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SubscriptionSink(WebApplication app, Received received)
    {
        _app = app;
        Octokit = received.Octokit;
        Standard = received.Standard;
        OctokitPushes = received.OctokitPushes;
        BaseUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    public Uri BaseUrl { get; }

    /// <summary>What Octokit's receiver accepted (signature verified): headers and body.</summary>
    public ConcurrentQueue<(IDictionary<string, StringValues> Headers, byte[] Body)> Octokit { get; }

    /// <summary>The pushes Octokit's typed handler received: delivery id and ref.</summary>
    public ConcurrentQueue<(string DeliveryId, string Ref)> OctokitPushes { get; }

    /// <summary>What the StandardWebhooks package verified: the <c>webhook-id</c> and body.</summary>
    public ConcurrentQueue<(string Id, byte[] Body)> Standard { get; }

    public static async Task<SubscriptionSink> StartAsync(string octokitSecret, string standardSecret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var received = new Received();
        builder.Services.AddSingleton(received);
        builder.Services.AddSingleton<WebhookEventProcessor, RecordingProcessor>();
        var app = builder.Build();
        // The raw request as Octokit's receiver got it, recorded once that receiver has accepted it (200).
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            context.Request.Body.Position = 0;
            await next();
            if (context.Request.Path == "/octokit" && context.Response.StatusCode == 200)
            {
                received.Octokit.Enqueue((context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase), buffer.ToArray()));
            }
        });
        app.MapGitHubWebhooks("/octokit", octokitSecret);
        var standard = new StandardWebhook(standardSecret);
        app.MapPost("/standard", async (HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            try
            {
                standard.Verify(Encoding.UTF8.GetString(body), request.Headers);
            }
            catch (WebhookVerificationException)
            {
                return Results.StatusCode(401);
            }

            received.Standard.Enqueue((request.Headers["webhook-id"].ToString(), body));
            return Results.NoContent();
        });
        app.MapPost("/status/{code:int}", (int code) => Results.StatusCode(code));
        app.MapPost("/redirect", () => Results.Redirect("/standard"));
        app.MapPost("/hang", async (CancellationToken aborted) =>
        {
            await Task.Delay(TimeSpan.FromMinutes(2), aborted);
            return Results.NoContent();
        });
        await app.StartAsync();
        return new SubscriptionSink(app, received);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal sealed class Received
    {
        public ConcurrentQueue<(IDictionary<string, StringValues> Headers, byte[] Body)> Octokit { get; } = new();

        public ConcurrentQueue<(string Id, byte[] Body)> Standard { get; } = new();

        public ConcurrentQueue<(string DeliveryId, string Ref)> OctokitPushes { get; } = new();
    }

    /// <summary>Octokit's typed push handler: what it parsed, after its receiver verified the signature.</summary>
    private sealed class RecordingProcessor(Received received) : WebhookEventProcessor
    {
        protected override ValueTask ProcessPushWebhookAsync(WebhookHeaders headers, PushEvent pushEvent, CancellationToken cancellationToken = default)
        {
            received.OctokitPushes.Enqueue((headers.Delivery!, pushEvent.Ref));
            return ValueTask.CompletedTask;
        }
    }
}
