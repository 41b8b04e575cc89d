using Hubgate.Server.Access;
using Hubgate.Server.Api;
using Hubgate.Server.Webhooks;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// The operators' page at <c>/</c>: installations, recent deliveries with filters, a delivery's detail (with where it
/// stands for each subscription) with a Redeliver button, and the subscriptions (<see cref="DashboardSubscriptions"/>).
/// Server-rendered HTML that refreshes itself; sign-in with the API key.
/// </summary>
internal static class DashboardEndpoints
{
    private const int DeliveryRows = 50;

    public static void Map(WebApplication app)
    {
        app.MapGet("/signin", (HttpContext context, IAntiforgery antiforgery, string? failed) =>
            Html(DashboardPages.SignIn(antiforgery.GetAndStoreTokens(context), failed is not null)))
            .ExcludeFromDescription();

        app.MapPost("/signin", SignInAsync).ExcludeFromDescription();

        var pages = app.MapGroup("/").RequireAuthorization(DashboardSetup.Policy).WithMetadata(RequiresSignIn.Instance).ExcludeFromDescription();
        pages.MapGet("/", HomeAsync);
        pages.MapGet("/deliveries/{deliveryId}", DeliveryAsync);
        pages.MapPost("/deliveries/{deliveryId}/redeliver", RedeliverAsync);
        DashboardSubscriptions.Map(pages);
        pages.MapPost("/signout", async (HttpContext context, [FromForm(Name = "signout")] string? _) =>
        {
            await context.SignOutAsync(DashboardSetup.Scheme);
            return Results.Redirect("/signin");
        });
    }

    private static async Task<IResult> SignInAsync(HttpContext context, [FromForm(Name = "apiKey")] string? apiKey, ClientDirectory clients,
        FailedKeyThrottle throttle, TimeProvider time)
    {
        if (throttle.Blocked(context) is { } blocked)
        {
            return blocked;
        }

        // Only a client with the Admin right may sign in; a wrong key and a key without the right look the same.
        var client = string.IsNullOrEmpty(apiKey) ? null : await clients.AuthenticateAsync(apiKey, context.RequestAborted);
        if (client is not { Policy.Admin: true })
        {
            if (!await clients.IsConfiguredAsync(context.RequestAborted))
            {
                return Html(DashboardPages.NotConfigured(), StatusCodes.Status503ServiceUnavailable);
            }

            return throttle.Failed(context) ?? Results.Redirect("/signin?failed=1");
        }

        await context.SignInAsync(DashboardSetup.Scheme, DashboardSession.Principal(client, time.GetUtcNow()));
        return Results.Redirect("/");
    }

    private static async Task<IResult> HomeAsync(HttpContext context, IAntiforgery antiforgery, IDbContextFactory<HubgateDbContext> databases,
        WebhookInbox inbox, TimeProvider time, string? app, string? state, string? @event, CancellationToken cancellationToken)
    {
        app = string.IsNullOrWhiteSpace(app) ? null : app.Trim();
        DeliveryState? wanted = DeliverySummary.TryParseState(state ?? "", out var parsed) ? parsed : null;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var installations = await db.Installations.AsNoTracking()
            .Where(i => app == null || i.App == app)
            .OrderBy(i => i.App).ThenBy(i => i.Id)
            .Take(200)
            .Select(i => new DashboardPages.InstallationRow(i.App, i.Id, i.AccountLogin, i.AccountType, i.Status, i.TokenExpiresAt,
                db.Repositories.Count(r => r.App == i.App && r.InstallationId == i.Id && r.Status == RepositoryStatus.Active)))
            .ToListAsync(cancellationToken);
        var deliveries = await inbox.ListAsync(app, wanted, string.IsNullOrWhiteSpace(@event) ? null : @event.Trim(), before: null, DeliveryRows, cancellationToken);
        return Html(DashboardPages.Home(antiforgery.GetAndStoreTokens(context), installations, deliveries, app, wanted, @event, time.GetUtcNow()));
    }

    private static async Task<IResult> DeliveryAsync(HttpContext context, IAntiforgery antiforgery, IDbContextFactory<HubgateDbContext> databases,
        Hubgate.Webhooks.Store.DeliveryStore store, string deliveryId, string? app, string? redelivered, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        var detail = await DeliveriesEndpoints.DeliveryDetail.LoadAsync(databases, store, app, deliveryId, cancellationToken);
        return detail is null
            ? Html(DashboardPages.NotFound(app, deliveryId), StatusCodes.Status404NotFound)
            : Html(DashboardPages.Delivery(antiforgery.GetAndStoreTokens(context), detail, redelivered));
    }

    private static async Task<IResult> RedeliverAsync(WebhookInbox inbox, string deliveryId, [FromQuery] string? app,
        [FromForm(Name = "confirm")] string? confirm, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        var queued = await inbox.ReplayAsync(app, deliveryId, subscription: null, cancellationToken);
        return Results.Redirect(
            $"/deliveries/{Uri.EscapeDataString(deliveryId)}?app={Uri.EscapeDataString(app)}&redelivered={(queued ? "queued" : "busy")}");
    }

    private static IResult Html(string page, int status = StatusCodes.Status200OK) =>
        Results.Content(page, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
}

/// <summary>Endpoint metadata: this page requires the dashboard sign-in (checked by the route-table test).</summary>
internal sealed class RequiresSignIn
{
    public static readonly RequiresSignIn Instance = new();
}
