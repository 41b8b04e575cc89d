using Hubgate.Problems;
using Hubgate.Apps;
using Hubgate.Server.Access;
using Hubgate.Server.Api;

namespace Hubgate.Server.Setup;

/// <summary>
/// <c>/api/apps</c> (Admin right): list and show every App (configured, stored, removed — never a key or secret), add one
/// from an existing registration, remove a stored one (history kept), and start a manifest flow
/// (<c>POST /api/apps/manifests</c>) whose outcome <c>GET /api/apps/manifests/{state}</c> reports.
/// </summary>
internal static class AppsEndpoints
{
    public static IEndpointRouteBuilder MapAppsApi(this IEndpointRouteBuilder app)
    {
        var apps = app.MapApiGroup().MapGroup("/apps").WithTags("Apps");
        apps.MapGet("/", async (GitHubAppStore store, CancellationToken cancellationToken) => TypedResults.Ok(await store.ListAsync(cancellationToken)));
        apps.MapGet("/{name}", async (GitHubAppStore store, string name, CancellationToken cancellationToken) =>
            await store.ShowAsync(name, cancellationToken) is { } found ? Results.Ok(found) : HubgateProblems.Result(HubgateProblems.UnknownApp, $"No App named '{name}'."));
        apps.MapPost("/", AddAsync);
        apps.MapDelete("/{name}", async (HttpContext context, GitHubAppStore store, string name, CancellationToken cancellationToken) =>
            Answer(await store.RemoveAsync(name, context.GetClient().Name, cancellationToken)));
        apps.MapPost("/manifests", StartManifestAsync);
        apps.MapGet("/manifests/{state}", async (AppManifestFlow flow, string state, CancellationToken cancellationToken) =>
            await flow.StatusAsync(state, cancellationToken) is { } status ? Results.Ok(status) : HubgateProblems.Result(HubgateProblems.NotFound, "No such App manifest flow."));
        return app;
    }

    /// <summary>The body of <c>POST /api/apps</c>: an App registered on GitHub already.</summary>
    internal sealed record NewApp(
        string? Name,
        long? AppId,
        string? PrivateKey,
        string? WebhookSecret,
        List<string>? AdditionalWebhookSecrets,
        Uri? ApiBaseUrl,
        Uri? WebBaseUrl,
        string? ClientId,
        string? ClientSecret,
        string? Slug,
        string? Owner);

    /// <summary>The body of <c>POST /api/apps/manifests</c>.</summary>
    internal sealed record NewManifest(string? Name, string? Organization, string? Host, string? ApiBaseUrl);

    /// <summary>A started flow: open <see cref="StartUrl"/> in a browser; <see cref="State"/> names it for <c>GET /api/apps/manifests/{state}</c>.</summary>
    internal sealed record StartedManifest(string State, Uri StartUrl, DateTimeOffset ExpiresAt);

    private static async Task<IResult> AddAsync(HttpContext context, GitHubAppStore store, NewApp body, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body.PrivateKey) || body.AppId is null)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, "name, appId and privateKey (PEM) are required.");
        }

        var registration = new GitHubAppRegistration(body.Name ?? "", body.AppId.Value, body.ClientId, body.ClientSecret, body.PrivateKey,
            body.ApiBaseUrl ?? new Uri("https://api.github.com/"), body.WebBaseUrl, body.WebhookSecret, body.AdditionalWebhookSecrets ?? [], body.Slug);
        var change = await store.AddAsync(registration, body.Owner, context.GetClient().Name, cancellationToken);
        return change.Error is null ? TypedResults.Created($"/api/apps/{change.App!.Name}", change.App) : Answer(change);
    }

    private static async Task<IResult> StartManifestAsync(HttpContext context, AppManifestFlow flow, NewManifest body, CancellationToken cancellationToken)
    {
        if (AppManifestFlow.TryTarget(body.Host, body.ApiBaseUrl, out var target) is { } error)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, error);
        }

        var started = await flow.StartAsync(body.Name ?? "", body.Organization, target, context.GetClient().Name, cancellationToken);
        return started.Error is null
            ? TypedResults.Ok(new StartedManifest(started.State!, started.StartUrl!, started.ExpiresAt!.Value))
            : HubgateProblems.Result(HubgateProblems.InvalidRequest, started.Error);
    }

    private static IResult Answer(AppChange change) => change switch
    {
        { Error: AppChangeError.Invalid } => HubgateProblems.Result(HubgateProblems.InvalidRequest, change.Message!),
        { Error: AppChangeError.Conflict } => HubgateProblems.Result(HubgateProblems.Conflict, change.Message!),
        { Error: AppChangeError.NotFound } => HubgateProblems.Result(HubgateProblems.NotFound, change.Message!),
        _ => TypedResults.NoContent(),
    };
}
