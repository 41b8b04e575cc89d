using System.Text.Json;
using System.Text.Json.Serialization;
using Hubgate.Problems;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Subscriptions;

/// <summary>
/// The subscriptions as an API (the Admin right, like the rest of <c>/api</c>): list with stats, show, add (the signing
/// key shown once), pause, resume, remove, a subscription's deliveries, and replay of a time range.
/// </summary>
internal static class SubscriptionsEndpoints
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 500;

    /// <summary>Request bodies: the API's names, any case; a member the API does not know is refused, not ignored.</summary>
    private static readonly JsonSerializerOptions RequestJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static IEndpointRouteBuilder MapSubscriptionsApi(this IEndpointRouteBuilder app)
    {
        var subscriptions = app.MapApiGroup().MapGroup("/subscriptions").WithTags("Subscriptions");
        subscriptions.MapGet("/", ListAsync);
        subscriptions.MapGet("/{name}", ShowAsync);
        subscriptions.MapPost("/", AddAsync);
        subscriptions.MapPost("/{name}/pause", (SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, TimeProvider time, string name,
            CancellationToken cancellationToken) => SetStatusAsync(catalog, databases, time, name, SubscriptionStatus.Paused, cancellationToken));
        subscriptions.MapPost("/{name}/resume", (SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, TimeProvider time, string name,
            CancellationToken cancellationToken) => SetStatusAsync(catalog, databases, time, name, SubscriptionStatus.Active, cancellationToken));
        subscriptions.MapDelete("/{name}", RemoveAsync);
        subscriptions.MapGet("/{name}/deliveries", DeliveriesAsync);
        subscriptions.MapPost("/{name}/replay", ReplayAsync);
        return app;
    }

    /// <summary><c>GET /api/subscriptions</c>: every subscription with its stats, by name.</summary>
    private static async Task<Ok<SubscriptionList>> ListAsync(
        SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, TimeProvider time, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SubscriptionList(await SubscriptionView.LoadAllAsync(catalog, databases, time, cancellationToken)));

    /// <summary><c>GET /api/subscriptions/{name}</c>.</summary>
    private static async Task<Results<Ok<SubscriptionView>, ProblemHttpResult>> ShowAsync(
        SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, TimeProvider time, string name, CancellationToken cancellationToken) =>
        await SubscriptionView.LoadAsync(catalog, databases, time, name, cancellationToken) is { } view ? TypedResults.Ok(view) : Unknown(name);

    /// <summary>
    /// <c>POST /api/subscriptions</c> with a <see cref="SubscriptionRequest"/>: 201 with the subscription and, for an
    /// HTTP one, its signing key in Standard Webhooks' form — the only time any form of the secret is given out.
    /// </summary>
    private static async Task<Results<Created<AddedSubscription>, ProblemHttpResult>> AddAsync(
        HttpRequest request, SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, TimeProvider time, CancellationToken cancellationToken)
    {
        SubscriptionRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<SubscriptionRequest>(request.Body, RequestJson, cancellationToken);
        }
        catch (JsonException e)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, Unreadable(e));
        }

        if (body is null)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, "body: a JSON object is required.");
        }

        if (body.ToOptions(out var problems) is not { } options)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, string.Join(" ", problems));
        }

        try
        {
            var (added, signingKey) = await catalog.AddAsync(body.Name ?? "", options, cancellationToken);
            var view = await SubscriptionView.LoadAsync(catalog, databases, time, added.Name, cancellationToken);
            return TypedResults.Created($"/api/subscriptions/{added.Name}", new AddedSubscription(view!, signingKey));
        }
        catch (SubscriptionException e)
        {
            return HubgateProblems.Result(e.Conflict ? HubgateProblems.Conflict : HubgateProblems.InvalidRequest, e.Message);
        }
    }

    /// <summary>
    /// Why a body could not be read, naming the field (<c>$.concurrency</c> → <c>concurrency</c>) and never quoting a
    /// value or the serializer's type names.
    /// </summary>
    private static string Unreadable(JsonException e)
    {
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var quoted = e.Message.Split('\'');
            return $"{(quoted.Length > 2 ? quoted[1] : "body")}: not a member of a subscription (name, kind, url, secret, events, installations, " +
                "repositories, ordering, concurrency, retry, timeout, disableAfter, paused).";
        }

        var field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? null : e.Path.TrimStart('$', '.');
        return field is not null && e.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? $"{field}: a value of the wrong type (text, number, list or true/false)."
            : "body: not well-formed JSON.";
    }

    /// <summary><c>POST /api/subscriptions/{name}/pause</c> and <c>/resume</c> (which also enables a disabled one; nothing it was owed is skipped).</summary>
    private static async Task<Results<Ok<SubscriptionView>, ProblemHttpResult>> SetStatusAsync(SubscriptionCatalog catalog,
        IDbContextFactory<HubgateDbContext> databases, TimeProvider time, string name, SubscriptionStatus status, CancellationToken cancellationToken)
    {
        if (!await catalog.SetStatusAsync(name, status, reason: null, cancellationToken))
        {
            return Unknown(name);
        }

        return await SubscriptionView.LoadAsync(catalog, databases, time, name, cancellationToken) is { } view ? TypedResults.Ok(view) : Unknown(name);
    }

    /// <summary><c>DELETE /api/subscriptions/{name}</c>: one added at run time, with what it was owed (409 for <c>local</c> and declared ones).</summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(SubscriptionCatalog catalog, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await catalog.RemoveAsync(name, cancellationToken) ? TypedResults.NoContent() : Unknown(name);
        }
        catch (SubscriptionException e)
        {
            return HubgateProblems.Result(e.Conflict ? HubgateProblems.Conflict : HubgateProblems.InvalidRequest, e.Message);
        }
    }

    /// <summary><c>GET /api/subscriptions/{name}/deliveries?state=dead&amp;before=1234&amp;limit=50</c>, newest first.</summary>
    private static async Task<Results<Ok<SubscriptionDeliveryPage>, ProblemHttpResult>> DeliveriesAsync(
        SubscriptionCatalog catalog, IDbContextFactory<HubgateDbContext> databases, string name, string? state, long? before, int? limit,
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

        if ((await catalog.RefreshAsync(cancellationToken)).All(s => s.Name != name))
        {
            return Unknown(name);
        }

        var take = Math.Clamp(limit ?? DefaultLimit, 1, MaxLimit);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var rows = await SubscriptionDeliveryRow.ListAsync(db, name, wanted, before, take + 1, cancellationToken);
        var next = rows.Count > take ? rows[take - 1].Sequence : (long?)null;
        return TypedResults.Ok(new SubscriptionDeliveryPage(name, rows.Take(take).ToList(), next));
    }

    /// <summary>
    /// <c>POST /api/subscriptions/{name}/replay?since=2h&amp;until=2026-01-31T10:00:00Z&amp;event=push</c>: the rows of the
    /// deliveries received in the range go back to pending (any state but processing); answers how many.
    /// </summary>
    private static async Task<Results<Ok<RangeReplayed>, ProblemHttpResult>> ReplayAsync(
        SubscriptionCatalog catalog, DeliveryStore store, WorkSignal work, TimeProvider time, string name, string? since, string? until, string? @event,
        CancellationToken cancellationToken)
    {
        var range = SubscriptionReplay.Parse(since, until, @event, time.GetUtcNow());
        if (range.Problem is { } problem)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, problem);
        }

        if ((await catalog.RefreshAsync(cancellationToken)).All(s => s.Name != name))
        {
            return Unknown(name);
        }

        var requeued = await SubscriptionReplay.RunAsync(store, work, time, name, range, cancellationToken);
        return TypedResults.Ok(new RangeReplayed(name, range.Since, range.Until, @event, requeued));
    }

    private static ProblemHttpResult Unknown(string name) =>
        HubgateProblems.Result(HubgateProblems.NotFound, $"No subscription named '{name}'. GET /api/subscriptions lists them.");

    internal sealed record SubscriptionList(IReadOnlyList<SubscriptionView> Subscriptions);

    /// <summary>The subscription just added and its signing key (<c>whsec_…</c>; HTTP subscriptions only), shown this once.</summary>
    internal sealed record AddedSubscription(SubscriptionView Subscription, string? SigningKey);

    internal sealed record SubscriptionDeliveryPage(string Subscription, IReadOnlyList<SubscriptionDeliveryRow> Deliveries, long? NextBefore);

    internal sealed record RangeReplayed(string Subscription, DateTimeOffset Since, DateTimeOffset Until, string? Event, int Requeued);
}
