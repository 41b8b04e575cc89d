using Hubgate.Problems;
using System.Text.Json;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Webhooks;

/// <summary>The inbox as an API: list, inspect, replay, and recover from GitHub. API key required.</summary>
internal static class DeliveriesEndpoints
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 500;

    public static IEndpointRouteBuilder MapDeliveriesApi(this IEndpointRouteBuilder app)
    {
        var deliveries = app.MapApiGroup().MapGroup("/deliveries").WithTags("Deliveries");
        deliveries.MapGet("/", ListAsync);
        deliveries.MapGet("/{deliveryId}", ShowAsync);
        deliveries.MapPost("/{deliveryId}/replay", ReplayAsync);
        deliveries.MapPost("/recover", RecoverAsync);
        return app;
    }

    /// <summary>
    /// <c>GET /api/deliveries?app=default&amp;state=dead&amp;event=push&amp;limit=50&amp;before=1234</c>, newest first (no
    /// <c>app</c>: every App's).
    /// </summary>
    private static async Task<Results<Ok<DeliveryPage>, ProblemHttpResult>> ListAsync(
        WebhookInbox inbox,
        string? app,
        string? state,
        string? @event,
        int? limit,
        long? before,
        CancellationToken cancellationToken)
    {
        DeliveryState? wanted = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (!DeliverySummary.TryParseState(state, out var parsed))
            {
                return HubgateProblems.Result(HubgateProblems.InvalidRequest, $"Unknown state '{state}': use one of {DeliverySummary.StateNames}.");
            }

            wanted = parsed;
        }

        var take = Math.Clamp(limit ?? DefaultLimit, 1, MaxLimit);
        var rows = await inbox.ListAsync(app, wanted, @event, before, take + 1, cancellationToken);
        var next = rows.Count > take ? rows[take - 1].Sequence : (long?)null;
        return TypedResults.Ok(new DeliveryPage(rows.Take(take).ToList(), next));
    }

    /// <summary><c>GET /api/deliveries/{id}?app=ghes</c>: delivery ids are unique per App (no <c>app</c>: <c>default</c>'s).</summary>
    private static async Task<Results<Ok<DeliveryDetail>, ProblemHttpResult>> ShowAsync(
        IDbContextFactory<HubgateDbContext> databases, DeliveryStore store, string deliveryId, string? app, CancellationToken cancellationToken) =>
        await DeliveryDetail.LoadAsync(databases, store, app ?? StoredApp.Default, deliveryId, cancellationToken) is { } detail
            ? TypedResults.Ok(detail)
            : HubgateProblems.Result(HubgateProblems.NotFound, $"No delivery {deliveryId} of App {app ?? StoredApp.Default} is stored.");

    /// <summary>
    /// <c>POST /api/deliveries/{id}/replay?app=ghes&amp;subscription=ci</c> (no <c>app</c>: <c>default</c>'s; no
    /// <c>subscription</c>: every subscription it was handed to).
    /// </summary>
    private static async Task<Results<Accepted<ReplayAnswer>, ProblemHttpResult>> ReplayAsync(
        WebhookInbox inbox, IDbContextFactory<HubgateDbContext> databases, string deliveryId, string? app, string? subscription,
        CancellationToken cancellationToken)
    {
        var appName = app ?? StoredApp.Default;
        if (await inbox.ReplayAsync(appName, deliveryId, subscription, cancellationToken))
        {
            return TypedResults.Accepted($"/api/deliveries/{Uri.EscapeDataString(deliveryId)}?app={Uri.EscapeDataString(appName)}",
                new ReplayAnswer(appName, deliveryId, "pending"));
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.WebhookDeliveries.AnyAsync(d => d.App == appName && d.DeliveryId == deliveryId, cancellationToken)
            ? HubgateProblems.Result(HubgateProblems.Conflict, subscription is null
                ? $"Delivery {deliveryId} is being processed right now (or not yet handed to the subscriptions); replay it once it finishes."
                : $"Delivery {deliveryId} is being processed for subscription {subscription} right now, or was never for it.")
            : HubgateProblems.Result(HubgateProblems.NotFound, $"No delivery {deliveryId} of App {appName} is stored.");
    }

    /// <summary>
    /// <c>POST /api/deliveries/recover?app=ghes&amp;since=72h&amp;dryRun=true&amp;events=push,pull_request</c> (no <c>app</c>:
    /// <c>default</c>'s; no <c>events</c>: <c>Webhooks:RecoverEvents</c>).
    /// </summary>
    private static async Task<Results<Ok<RecoveryReport>, ProblemHttpResult>> RecoverAsync(
        DeliveryRecovery recovery, string? app, string? since, bool? dryRun, string? events, CancellationToken cancellationToken)
    {
        if (!Durations.TryParse(since ?? "72h", out var lookback) || lookback <= TimeSpan.Zero)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, $"since='{since}' is not a duration: use e.g. 30m, 12h, 3d.");
        }

        try
        {
            return TypedResults.Ok(await recovery.RecoverAsync(app ?? StoredApp.Default, lookback, dryRun ?? false, DeliveryRecovery.ParseEvents(events),
                cancellationToken));
        }
        catch (Hubgate.Apps.GitHubAppNotFoundException e)
        {
            return HubgateProblems.Result(HubgateProblems.UnknownApp, e.Message);
        }
        catch (Exception e) when (e is Hubgate.Authentication.GitHubApiException or Hubgate.Authentication.GitHubAppNotConfiguredException or HttpRequestException)
        {
            return HubgateProblems.Result(HubgateProblems.GitHubFailed, $"Could not list GitHub's deliveries: {e.Message}");
        }
    }

    internal sealed record DeliveryDetail(
        DeliverySummary Delivery, string BodySha256, long? HookId, IReadOnlyList<SubscriptionState> Subscriptions, string? PossibleReplayOf,
        JsonElement? Headers, JsonElement Payload)
    {
        /// <summary>One stored delivery with the headers kept and its payload (API, CLI and dashboard); null when unknown.</summary>
        public static async Task<DeliveryDetail?> LoadAsync(IDbContextFactory<HubgateDbContext> databases, DeliveryStore store, string app, string deliveryId,
            CancellationToken cancellationToken)
        {
            await using var db = await databases.CreateDbContextAsync(cancellationToken);
            var row = await db.WebhookDeliveries.AsNoTracking().SingleOrDefaultAsync(d => d.App == app && d.DeliveryId == deliveryId, cancellationToken);
            if (row is null)
            {
                return null;
            }

            await store.FillBodiesAsync([row], cancellationToken);
            var summary = await DeliverySummary.Query(db).SingleAsync(d => d.Sequence == row.Id, cancellationToken);
            var subscriptions = await SubscriptionState.ForDeliveryAsync(db, row.Id, cancellationToken);

            using var headers = row.HeadersJson is null ? null : JsonDocument.Parse(row.HeadersJson);
            using var payload = JsonDocument.Parse(WebhookPayload.Json(row.Body));
            return new DeliveryDetail(
                summary, row.BodySha256, row.HookId, subscriptions, row.PossibleReplayOf,
                headers?.RootElement.Clone(), payload.RootElement.Clone());
        }
    }

    internal sealed record DeliveryPage(IReadOnlyList<DeliverySummary> Deliveries, long? NextBefore);

    internal sealed record ReplayAnswer(string App, string Delivery, string Status);
}
