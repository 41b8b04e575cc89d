using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;
using Hubgate.Webhooks.Subscriptions.RabbitMq;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hubgate.Server.Health;

internal static class HealthEndpoints
{
    /// <summary>
    /// <c>/healthz</c>: the process answers. <c>/readyz</c>: the database answers and is migrated; with a line per
    /// RabbitMQ subscription (connected, exchange present), which is detail: a broker that is down does not make
    /// Hubgate unready — deliveries are stored and wait for it.
    /// </summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    private static async Task<Results<Ok<ReadyAnswer>, JsonHttpResult<ReadyAnswer>>> ReadyAsync(
        DatabaseMigrator migrator, SubscriptionCatalog catalog, RabbitMqBrokers brokers, CancellationToken cancellationToken)
    {
        var (reachable, migrated, error) = await migrator.CheckAsync(cancellationToken);
        var ready = reachable && migrated;
        var answer = new ReadyAnswer(ready ? "ready" : "unavailable", reachable, migrated, error,
            ready ? await BrokersAsync(catalog, brokers, cancellationToken) : []);
        return ready
            ? TypedResults.Ok(answer)
            : TypedResults.Json(answer, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Each active RabbitMQ subscription's broker, probed (answers reused for a few seconds).</summary>
    internal static async Task<List<BrokerHealth>> BrokersAsync(SubscriptionCatalog catalog, RabbitMqBrokers brokers, CancellationToken cancellationToken)
    {
        var lines = new List<BrokerHealth>();
        foreach (var subscription in (await catalog.AllAsync(cancellationToken)).Where(s => s is { Kind: SubscriptionKind.RabbitMq, IsActive: true }))
        {
            lines.Add(await brokers.ProbeAsync(subscription, cancellationToken));
        }

        return lines;
    }

    internal sealed record ReadyAnswer(string Status, bool DatabaseReachable, bool Migrated, string? Error, IReadOnlyList<BrokerHealth> Brokers);
}
