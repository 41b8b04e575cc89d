using Hubgate.Server.Subscriptions;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// The dashboard's Subscriptions page, a subscription's page, and their Pause / Resume and Replay forms (admin session
/// and antiforgery token, as every dashboard form).
/// </summary>
internal static class DashboardSubscriptions
{
    private const int RecentRows = 50;

    public static void Map(RouteGroupBuilder pages)
    {
        pages.MapGet("/subscriptions", ListAsync);
        pages.MapGet("/subscriptions/{name}", PageAsync);
        pages.MapPost("/subscriptions/{name}/pause", (HttpContext context, SubscriptionCatalog catalog, string name, [FromForm(Name = "from")] string? from) =>
            SetStatusAsync(catalog, name, SubscriptionStatus.Paused, from, context.RequestAborted));
        pages.MapPost("/subscriptions/{name}/resume", (HttpContext context, SubscriptionCatalog catalog, string name, [FromForm(Name = "from")] string? from) =>
            SetStatusAsync(catalog, name, SubscriptionStatus.Active, from, context.RequestAborted));
        pages.MapPost("/subscriptions/{name}/replay", ReplayAsync);
    }

    private static async Task<IResult> ListAsync(HttpContext context, IAntiforgery antiforgery, SubscriptionCatalog catalog, SubscriptionStats stats,
        string? changed, CancellationToken cancellationToken)
    {
        var subscriptions = await catalog.RefreshAsync(cancellationToken);
        var backlog = await stats.BacklogAsync([.. subscriptions.Select(s => s.Name)], cancellationToken);
        var window = await stats.LastHourAsync(subscription: null, cancellationToken);
        var rows = new List<SubscriptionPages.Row>(subscriptions.Count);
        foreach (var s in subscriptions)
        {
            rows.Add(new SubscriptionPages.Row(s, backlog[s.Name], window.Of(s.Name), await stats.LastErrorAsync(s.Name, cancellationToken)));
        }

        return Html(SubscriptionPages.List(antiforgery.GetAndStoreTokens(context), rows, window, changed));
    }

    private static async Task<IResult> PageAsync(HttpContext context, IAntiforgery antiforgery, SubscriptionCatalog catalog, SubscriptionStats stats,
        string name, string? changed, int? count, CancellationToken cancellationToken)
    {
        var subscription = (await catalog.RefreshAsync(cancellationToken)).FirstOrDefault(s => s.Name == name);
        if (subscription is null)
        {
            return Html(SubscriptionPages.NotFound(name), StatusCodes.Status404NotFound);
        }

        var backlog = await stats.BacklogAsync([name], cancellationToken);
        var window = await stats.LastHourAsync(name, cancellationToken);
        var row = new SubscriptionPages.Row(subscription, backlog[name], window.Of(name), await stats.LastErrorAsync(name, cancellationToken));
        var recent = await stats.RecentAsync(name, RecentRows, cancellationToken);
        return Html(SubscriptionPages.Page(antiforgery.GetAndStoreTokens(context), row, window, recent, changed, count));
    }

    /// <summary>Pauses or resumes (enables, when disabled), then back to the page the form was on.</summary>
    private static async Task<IResult> SetStatusAsync(SubscriptionCatalog catalog, string name, SubscriptionStatus status, string? from,
        CancellationToken cancellationToken)
    {
        if (!await catalog.SetStatusAsync(name, status, reason: null, cancellationToken))
        {
            return Html(SubscriptionPages.NotFound(name), StatusCodes.Status404NotFound);
        }

        var changed = status == SubscriptionStatus.Paused ? "paused" : "resumed";
        return Results.Redirect(from == "page"
            ? $"/subscriptions/{Uri.EscapeDataString(name)}?changed={changed}"
            : $"/subscriptions?changed={changed}");
    }

    /// <summary>
    /// Replays to this subscription what was received since the form's <c>since</c> (of one event when given), as
    /// <c>POST /api/subscriptions/{name}/replay</c> does, then back to its page saying how many.
    /// </summary>
    private static async Task<IResult> ReplayAsync(SubscriptionCatalog catalog, DeliveryStore store, WorkSignal work, TimeProvider time, string name,
        [FromForm(Name = "since")] string? since, [FromForm(Name = "event")] string? @event, CancellationToken cancellationToken)
    {
        if ((await catalog.RefreshAsync(cancellationToken)).All(s => s.Name != name))
        {
            return Html(SubscriptionPages.NotFound(name), StatusCodes.Status404NotFound);
        }

        var range = SubscriptionReplay.Parse(since, until: null, string.IsNullOrWhiteSpace(@event) ? null : @event.Trim(), time.GetUtcNow());
        if (range.Problem is { } problem)
        {
            return Html(SubscriptionPages.ReplayRefused(name, problem), StatusCodes.Status400BadRequest);
        }

        var requeued = await SubscriptionReplay.RunAsync(store, work, time, name, range, cancellationToken);
        return Results.Redirect($"/subscriptions/{Uri.EscapeDataString(name)}?changed=replayed&count={requeued.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    private static IResult Html(string page, int status = StatusCodes.Status200OK) =>
        Results.Content(page, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
}
