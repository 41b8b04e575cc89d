using System.Security.Cryptography;
using Hubgate.Testing;
using Hubgate.Storage;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Webhooks;

/// <summary>Stores deliveries through the real inbox and reads them back, for worker and inbox tests.</summary>
internal static class WebhookTestKit
{
    public static Dictionary<string, string?> Settings(int maxAttempts = 3) => new()
    {
        ["GitHub:WebhookSecret"] = "test-secret",
        ["Webhooks:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Webhooks:RetryDelay"] = "00:00:10",
        ["Webhooks:MaxRetryDelay"] = "00:01:00",
        ["Webhooks:LeaseDuration"] = "00:05:00",
        ["Webhooks:RunWorker"] = "false",
    };

    public static WebhookDeliveryEntity Delivery(TestServices services, string @event, byte[] body, string? deliveryId = null)
    {
        PayloadInspector.TryInspect(body, out var facts);
        return new WebhookDeliveryEntity
        {
            DeliveryId = deliveryId ?? Guid.NewGuid().ToString(),
            Event = @event,
            Action = facts.Action,
            InstallationId = facts.InstallationId,
            RepositoryId = facts.RepositoryId,
            ReceivedAt = services.Time.GetUtcNow(),
            Body = body,
            BodySha256 = Convert.ToHexStringLower(SHA256.HashData(body)),
        };
    }

    public static Task<InboxOutcome> StoreAsync(TestServices services, string @event, byte[] body, string? deliveryId = null,
        string app = StoredApp.Default) =>
        services.Get<WebhookInbox>().StoreAsync(app, Delivery(services, @event, body, deliveryId));

    public static Task<InboxOutcome> StoreFixtureAsync(TestServices services, string @event, string fixture, string? deliveryId = null) =>
        StoreAsync(services, @event, WebhookFixtures.Load(@event, fixture), deliveryId);

    public static async Task<LocalDelivery> ReadAsync(TestServices services, string deliveryId, string app = StoredApp.Default)
    {
        await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.LocalDeliveries().SingleAsync(d => d.App == app && d.DeliveryId == deliveryId);
    }

    public static async Task<int> CountAsync(TestServices services)
    {
        await using var db = await services.Get<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.WebhookDeliveries.CountAsync();
    }

    public static WebhookBuilder Webhooks(this IServiceCollection services) => new(services);
}
