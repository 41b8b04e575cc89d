using System.Globalization;
using Hubgate.Problems;
using Hubgate.Server.Access;
using Hubgate.Server.Api;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// A <c>Stream</c> subscription read over HTTP: <c>GET /api/subscriptions/{name}/events</c> (Server-Sent Events, resumable
/// with <c>Last-Event-ID</c> or <c>?after=</c>) and <c>POST /api/subscriptions/{name}/ack</c> (the stored cursor). Open to
/// admins and to clients granted the stream (<c>Hubgate:Clients:{client}:Streams</c>).
/// </summary>
internal static class StreamEndpoints
{
    public static IEndpointRouteBuilder MapSubscriptionStreams(this IEndpointRouteBuilder app)
    {
        // Not the admin-only /api group: a listener's key needs only the Streams right, checked by the handlers.
        var stream = app.MapGroup("/api/subscriptions/{name}").RequireApiKey(admin: false).WithTags("Subscriptions");
        stream.MapGet("/events", Events)
            .WithSummary("The stream subscription's deliveries as Server-Sent Events, from after Last-Event-ID (or ?after=), else from the oldest not acknowledged.");
        stream.MapPost("/ack", AcknowledgeAsync)
            .WithSummary("Acknowledges every delivery of the stream subscription up to a sequence ({\"sequence\": n} or ?sequence=n): they count as delivered.");
        return app;
    }

    private static async Task<IResult> Events(string name, string? after, HttpContext context, SubscriptionCatalog catalog, CancellationToken cancellationToken)
    {
        var (subscription, refusal) = await FindAsync(name, context, catalog, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if (!subscription!.IsActive)
        {
            return HubgateProblems.Result(HubgateProblems.Conflict,
                $"Subscription '{name}' is {subscription.Status.ToString().ToLowerInvariant()}{(subscription.DisabledReason is { } why ? $" ({why})" : "")}; " +
                "its deliveries are kept for it. Resume it to read the stream.",
                new KeyValuePair<string, object?>("subscriptionStatus", subscription.Status.ToString().ToLowerInvariant()));
        }

        var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
        var cursor = lastEventId.Length > 0 ? lastEventId : after;
        if (cursor is null)
        {
            return new DeliveryStream(name, null);
        }

        return long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? new DeliveryStream(name, sequence)
            : HubgateProblems.Result(HubgateProblems.InvalidRequest,
                $"{(lastEventId.Length > 0 ? "Last-Event-ID" : "after")} '{cursor}' is not a delivery sequence (a whole number, the id of the last event read).");
    }

    private static async Task<IResult> AcknowledgeAsync(string name, long? sequence, AckRequest? request, HttpContext context, SubscriptionCatalog catalog,
        DeliveryStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var (_, refusal) = await FindAsync(name, context, catalog, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        if ((sequence ?? request?.Sequence) is not { } upTo || upTo < 0)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest,
                "Say up to which delivery the listener has everything: {\"sequence\": n} or ?sequence=n (the id of the last event it handled, 0 or more).");
        }

        var acknowledged = await store.AcknowledgeAsync(name, upTo, time.GetUtcNow(), cancellationToken);
        return TypedResults.Ok(new AckAnswer(name, upTo, acknowledged));
    }

    /// <summary>The stream subscription <paramref name="name"/> when the request's client may read it; otherwise the answer (403, 404, 409).</summary>
    private static async Task<(Subscription? Subscription, IResult? Refusal)> FindAsync(string name, HttpContext context, SubscriptionCatalog catalog,
        CancellationToken cancellationToken)
    {
        var client = context.GetClient();
        if (!client.Policy.MayRead(name))
        {
            return (null, new AccessRefusal(client.Name, "streams",
                $"Client '{client.Name}' may not read stream subscription '{name}' (Hubgate:Clients:{client.Name}:Streams).").ToResult(context));
        }

        var subscription = await catalog.FindAsync(name, cancellationToken);
        if (subscription is null)
        {
            return (null, HubgateProblems.Result(HubgateProblems.NotFound, $"No subscription named '{name}'."));
        }

        return subscription.Kind == SubscriptionKind.Stream
            ? (subscription, null)
            : (null, HubgateProblems.Result(HubgateProblems.Conflict,
                $"Subscription '{name}' is of kind {subscription.Kind}: its deliveries are pushed, not read. Only a Stream subscription has events to read and acknowledge."));
    }

    internal sealed record AckRequest(long? Sequence);

    internal sealed record AckAnswer(string Subscription, long Sequence, int Acknowledged);
}
