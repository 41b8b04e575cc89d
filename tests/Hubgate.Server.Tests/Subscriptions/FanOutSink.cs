using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Octokit.Webhooks;
using Octokit.Webhooks.AspNetCore;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// Several subscribers in one Kestrel on a fixed 127.0.0.1 port, one path each (<c>/{name}</c>). A request is accepted
/// only when both signatures verify: Standard Webhooks' with the StandardWebhooks package, then GitHub's by
/// Octokit.Webhooks.AspNetCore's own receiver (which answers 400 otherwise). Each path can be told to answer a status
/// or to hang; the whole sink can be stopped (connection refused) and started again on the same port. It records every
/// accepted request in order of acceptance, and any request that arrived while another with the same
/// <c>webhook-id</c> was in flight on the same path.
/// </summary>
internal sealed class FanOutSink : IAsyncDisposable
{
    /// <summary>The secret every subscription pointed here is declared with (an Octokit receiver's form).</summary>
    public const string Secret = "fan-out-sink-secret-of-32-bytes!";

    /// <summary>The same key in Standard Webhooks' form, as a receiver configures it.</summary>
    public static readonly string StandardSecret = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes(Secret));

    private readonly int _port = ServerProcess.FreePort();
    private readonly ConcurrentDictionary<string, Func<HttpContext, Task<bool>>> _behaviour = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Path, string Id), int> _inFlight = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private long _order;
    private WebApplication? _app;

    private FanOutSink()
    {
    }

    /// <summary>Every accepted request, in order of acceptance.</summary>
    public ConcurrentQueue<Received> Accepted { get; } = new();

    /// <summary>What the sink itself failed with (a bug in the test, not in what it was sent).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>(path, webhook-id) of requests that arrived while another with the same id was in flight there.</summary>
    public ConcurrentQueue<(string Path, string Id)> Overlaps { get; } = new();

    public static async Task<FanOutSink> StartAsync()
    {
        var sink = new FanOutSink();
        await sink.StartAgainAsync();
        return sink;
    }

    /// <summary>The URL of the subscriber <paramref name="name"/>.</summary>
    public string Url(string name) => $"http://127.0.0.1:{_port}/{name}";

    /// <summary>What <paramref name="name"/> accepted, in order.</summary>
    public List<Received> Of(string name) => [.. Accepted.Where(r => r.Path == name).OrderBy(r => r.Order)];

    /// <summary>How many requests <paramref name="name"/> was sent (accepted or not).</summary>
    public int AttemptsOf(string name) => _attempts.GetValueOrDefault(name);

    /// <summary><paramref name="name"/> answers <paramref name="status"/> to everything from now on.</summary>
    public void Answer(string name, int status) => _behaviour[name] = async context =>
    {
        context.Response.StatusCode = status;
        await context.Response.CompleteAsync();
        return false;
    };

    /// <summary><paramref name="name"/> never answers (until the request is aborted) from now on.</summary>
    public void Hang(string name) => _behaviour[name] = async context =>
    {
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }

        return false;
    };

    /// <summary><paramref name="name"/> never answers delivery <paramref name="deliveryId"/> (until aborted) and accepts every other from now on.</summary>
    public void HangOn(string name, string deliveryId) => _behaviour[name] = async context =>
    {
        if (context.Request.Headers["X-GitHub-Delivery"] != deliveryId)
        {
            return true;
        }

        try
        {
            await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }

        return false;
    };

    /// <summary><paramref name="name"/> takes <paramref name="delay"/> before it verifies and accepts (a window for overlaps to show).</summary>
    public void Slow(string name, TimeSpan delay) => _behaviour[name] = async context =>
    {
        await Task.Delay(delay, context.RequestAborted);
        return true;
    };

    /// <summary><paramref name="name"/> verifies and accepts again.</summary>
    public void Accept(string name) => _behaviour.TryRemove(name, out _);

    /// <summary>Stops listening: connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public async Task StartAgainAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{_port}");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<WebhookEventProcessor, AcceptingProcessor>();
        var app = builder.Build();
        var standard = new StandardWebhook(StandardSecret);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value!.TrimStart('/');
            var id = context.Request.Headers["webhook-id"].ToString();
            _attempts.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (_inFlight.AddOrUpdate((path, id), 1, (_, n) => n + 1) > 1)
            {
                Overlaps.Enqueue((path, id));
            }

            try
            {
                await HandleAsync(context, next, path, id, standard);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Errors.Enqueue(e.ToString());
                throw;
            }
            finally
            {
                _inFlight.AddOrUpdate((path, id), 0, (_, n) => n - 1);
            }
        });
        app.UseRouting();
        app.MapGitHubWebhooks("/{name}", Secret);
        await app.StartAsync();
        _app = app;
    }

    private async Task HandleAsync(HttpContext context, Func<Task> next, string path, string id, StandardWebhook standard)
    {
        if (_behaviour.TryGetValue(path, out var behave) && !await behave(context))
        {
            return;
        }

        context.Request.EnableBuffering();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        context.Request.Body.Position = 0;
        var body = buffer.ToArray();
        try
        {
            standard.Verify(Encoding.UTF8.GetString(body), context.Request.Headers);
        }
        catch (WebhookVerificationException)
        {
            context.Response.StatusCode = 401;
            return;
        }

        await next(); // Octokit's receiver: 200 once it has verified X-Hub-Signature-256 and parsed the event
        if (context.Response.StatusCode == 200)
        {
            Accepted.Enqueue(new Received(path, id, context.Request.Headers["X-GitHub-Delivery"].ToString(),
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase), body,
                Interlocked.Increment(ref _order)));
        }
    }

    /// <summary>Waits (bounded) until <paramref name="done"/> holds; fails with <paramref name="state"/> otherwise.</summary>
    public static async Task WaitUntilAsync(Func<bool> done, TimeSpan bound, Func<string> state)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > bound)
            {
                Assert.Fail($"Not within {bound.TotalSeconds} s: {state()}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>One accepted request.</summary>
    internal sealed record Received(string Path, string WebhookId, string GitHubDelivery, Dictionary<string, StringValues> Headers, byte[] Body, long Order);

    /// <summary>Octokit's processor with no handler: the receiver verifies and parses, and answers 200.</summary>
    private sealed class AcceptingProcessor : WebhookEventProcessor;
}
