using System.Text;
using System.Text.Json.Nodes;
using Hubgate.Testing;
using Hubgate.Integrations;
using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Hubgate.Tests.Webhooks;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;

namespace Hubgate.Tests.Integrations;

/// <summary>The library with the integration model registered, a fake GitHub as its App, deliveries stored and processed for real.</summary>
internal sealed class ModelHarness : IAsyncDisposable
{
    private ModelHarness(GitHubAppHarness app) => App = app;

    public GitHubAppHarness App { get; }
    public TestServices Services => App.Services;
    public FakeGitHubServer GitHub => App.GitHub;

    public static async Task<ModelHarness> StartAsync(Action<Dictionary<string, string?>>? settings = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? configure = null)
    {
        Dictionary<string, string?>? all = null;
        var app = await GitHubAppHarness.StartAsync(s =>
        {
            foreach (var (key, value) in WebhookTestKit.Settings())
            {
                s[key] = value;
            }

            settings?.Invoke(s);
            all = s;
        }, configure: services =>
        {
            services.AddGitHubIntegrationModel(new ConfigurationBuilder().AddInMemoryCollection(all!).Build());
            configure?.Invoke(services);
        });
        return new ModelHarness(app);
    }

    /// <summary>
    /// Stores the delivery (to <paramref name="app"/>) through the real inbox, runs the worker until the queue is empty,
    /// returns the stored row.
    /// </summary>
    public async Task<LocalDelivery> ProcessAsync(string @event, byte[] body, string? deliveryId = null, string app = StoredApp.Default)
    {
        deliveryId ??= Guid.NewGuid().ToString();
        await WebhookTestKit.StoreAsync(Services, @event, body, deliveryId, app);
        await DrainAsync();
        return await WebhookTestKit.ReadAsync(Services, deliveryId, app);
    }

    public Task<LocalDelivery> ProcessFixtureAsync(string @event, string fixture, string? deliveryId = null, string app = StoredApp.Default) =>
        ProcessAsync(@event, WebhookFixtures.Load(@event, fixture), deliveryId, app);

    public async Task DrainAsync()
    {
        var worker = Services.Get<DeliveryWorker>();
        for (var i = 0; i < 100 && await worker.RunOnceAsync(CancellationToken.None) > 0; i++)
        {
        }
    }

    public async Task<HubgateDbContext> DbAsync() =>
        await Services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();

    /// <summary>A fixture edited as JSON, serialized compactly (deliveries are signed and stored as the bytes given).</summary>
    public static byte[] Edit(string @event, string fixture, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(WebhookFixtures.Load(@event, fixture))!.AsObject();
        edit(json);
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
