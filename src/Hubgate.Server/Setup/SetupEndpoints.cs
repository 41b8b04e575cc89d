using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Server.Access;
using Hubgate.Server.Dashboard;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Setup;

/// <summary>
/// <c>/apps/new</c> (the dashboard's New App page, for admins), <c>/setup/apps/start</c> (posts the manifest to GitHub),
/// <c>/setup/apps/callback</c> (GitHub's return with the manifest code) and <c>/setup/installations/callback</c> (GitHub's
/// return after an installation). The <c>/setup</c> pages are reached from GitHub by a cross-site navigation and carry no
/// dashboard session: the manifest return is checked against its server-side state and the browser cookie of the flow,
/// and an installation is never taken from the query string — GitHub is asked about it with the App's JWT.
/// </summary>
internal static class SetupEndpoints
{
    private static readonly string ScriptHash = "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(SetupPages.SubmitScript)));

    public static void Map(WebApplication app)
    {
        var pages = app.MapGroup("/apps").RequireAuthorization(DashboardSetup.Policy).WithMetadata(RequiresSignIn.Instance).ExcludeFromDescription();
        pages.MapGet("/new", (HttpContext context, IAntiforgery antiforgery, IOptionsMonitor<SetupOptions> options) =>
            Html(SetupPages.NewApp(antiforgery.GetAndStoreTokens(context), options.CurrentValue.NormalizedPublicUrl, new(null, null, null, null), null)));
        pages.MapPost("/new", NewAppAsync);

        var setup = app.MapGroup("/setup").ExcludeFromDescription();
        setup.MapGet("/apps/start", StartAsync);
        setup.MapGet("/apps/callback", AppCallbackAsync);
        setup.MapGet("/installations/callback", InstallationCallbackAsync);
    }

    private static async Task<IResult> NewAppAsync(HttpContext context, IAntiforgery antiforgery, IOptionsMonitor<SetupOptions> options, AppManifestFlow flow,
        [FromForm(Name = "name")] string? name, [FromForm(Name = "organization")] string? organization, [FromForm(Name = "host")] string? host,
        [FromForm(Name = "apiBaseUrl")] string? apiBaseUrl, CancellationToken cancellationToken)
    {
        var values = new SetupPages.NewAppValues(name, organization, host, apiBaseUrl);
        var error = AppManifestFlow.TryTarget(host, apiBaseUrl, out var target);
        var started = error is null
            ? await flow.StartAsync(name?.Trim() ?? "", organization, target, context.User.Identity?.Name ?? "dashboard", cancellationToken)
            : ManifestStart.Fail(error);
        return started.StartUrl is { } url
            ? Results.Redirect(url.AbsoluteUri)
            : Html(SetupPages.NewApp(antiforgery.GetAndStoreTokens(context), options.CurrentValue.NormalizedPublicUrl, values, started.Error), StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> StartAsync(HttpContext context, AppManifestFlow flow, FailedKeyThrottle throttle, string? state, CancellationToken cancellationToken)
    {
        NoReferrer(context);
        if (throttle.Blocked(context) is { } blocked)
        {
            return blocked;
        }

        var form = await flow.OpenAsync(state, context.Request.Cookies[AppManifestFlow.BrowserCookie], cancellationToken);
        if (form.Error is not null)
        {
            return Refused(context, throttle, SetupPages.Problem("Cannot register the App", form.Error), StatusCodes.Status400BadRequest);
        }

        if (form.NewBrowserNonce is { } nonce)
        {
            // Lax, not Strict: it must come along on GitHub's cross-site return to /setup/apps/callback.
            context.Response.Cookies.Append(AppManifestFlow.BrowserCookie, nonce, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Lax,
                Secure = context.Request.IsHttps,
                Path = "/setup/apps",
                Expires = form.ExpiresAt,
                IsEssential = true,
            });
        }

        context.Response.Headers.ContentSecurityPolicy =
            $"default-src 'none'; style-src 'unsafe-inline'; script-src '{ScriptHash}'; form-action 'self' {form.Action!.GetLeftPart(UriPartial.Authority)}; frame-ancestors 'none'";
        return Html(SetupPages.Post(form));
    }

    private static async Task<IResult> AppCallbackAsync(HttpContext context, AppManifestFlow flow, IOptionsMonitor<SetupOptions> options, FailedKeyThrottle throttle,
        string? code, string? state, CancellationToken cancellationToken)
    {
        NoReferrer(context);
        if (throttle.Blocked(context) is { } blocked)
        {
            return blocked;
        }

        var outcome = await flow.CompleteAsync(code, state, context.Request.Cookies[AppManifestFlow.BrowserCookie], cancellationToken);
        if (outcome.App is not { } created)
        {
            var page = SetupPages.Problem("App not registered", outcome.Error!);
            return outcome.Status == HttpStatusCode.BadRequest ? Refused(context, throttle, page, StatusCodes.Status400BadRequest) : Html(page, (int)outcome.Status);
        }

        context.Response.Cookies.Delete(AppManifestFlow.BrowserCookie, new CookieOptions { Path = "/setup/apps" });
        return Html(SetupPages.Created(created, outcome.InstallUrl,
            options.CurrentValue.NormalizedPublicUrl ?? new Uri($"{context.Request.Scheme}://{context.Request.Host}/")));
    }

    private static async Task<IResult> InstallationCallbackAsync(HttpContext context, GitHubAppStore apps, InstallationSync sync, FailedKeyThrottle throttle,
        [FromQuery(Name = "installation_id")] string? installationId, [FromQuery(Name = "setup_action")] string? setupAction, string? app,
        CancellationToken cancellationToken)
    {
        NoReferrer(context);

        // Each of these asks GitHub: guessing Apps or installations from one address is held to Hubgate:FailedKeyLimitPerMinute.
        if (throttle.Blocked(context) is { } blocked)
        {
            return blocked;
        }

        var name = string.IsNullOrEmpty(app) ? GitHubApp.DefaultName : app;
        if (await apps.FindAsync(name, cancellationToken) is not { IsConfigured: true } found)
        {
            return Refused(context, throttle, SetupPages.Problem("Unknown App", $"Hubgate has no App named '{name}' that it can act as."), StatusCodes.Status404NotFound);
        }

        if (setupAction == "request" && string.IsNullOrEmpty(installationId))
        {
            return Html(SetupPages.Requested(found.Name));
        }

        if (!long.TryParse(installationId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
        {
            return Html(SetupPages.Problem("No installation", "GitHub's return names no installation (installation_id)."), StatusCodes.Status400BadRequest);
        }

        InstallationRefresh? refreshed;
        try
        {
            refreshed = await sync.RefreshInstallationAsync(found, id, cancellationToken);
        }
        catch (Exception e) when (e is GitHubApiException or HttpRequestException)
        {
            return Html(SetupPages.Problem("GitHub did not answer",
                $"Hubgate could not ask GitHub about installation {id} of App {found.Name}: {e.Message} The installation webhook or the next sync will register it."),
                StatusCodes.Status502BadGateway);
        }

        return refreshed is null
            ? Refused(context, throttle, SetupPages.Problem("Unknown installation",
                $"GitHub does not know installation {id} of App {found.Name} (404); nothing was stored."), StatusCodes.Status404NotFound)
            : Html(SetupPages.Installed(found.Name, id, setupAction, refreshed.Repositories));
    }

    /// <summary>A refusal, counted against the address like a failed key check (a 429 instead once it has used them up).</summary>
    private static IResult Refused(HttpContext context, FailedKeyThrottle throttle, string page, int status) =>
        throttle.Failed(context) ?? Html(page, status);

    /// <summary>The state and codes in these URLs are not for other sites' eyes.</summary>
    private static void NoReferrer(HttpContext context)
    {
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        context.Response.Headers.CacheControl = "no-store";
    }

    private static IResult Html(string page, int status = StatusCodes.Status200OK) =>
        Results.Content(page, "text/html; charset=utf-8", Encoding.UTF8, status);
}
