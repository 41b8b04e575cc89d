using Hubgate.Problems;
using Hubgate.Server.Api;

namespace Hubgate.Server.Access;

/// <summary>
/// <c>/api/clients</c> (Admin right): list every client, add one, rotate its key, remove it. A new key is in the answer
/// to the add or rotate that made it, and nowhere else.
/// </summary>
internal static class ClientsEndpoints
{
    public static IEndpointRouteBuilder MapClientsApi(this IEndpointRouteBuilder app)
    {
        var clients = app.MapApiGroup().MapGroup("/clients").WithTags("Clients");
        clients.MapGet("/", async (ClientStore store, CancellationToken cancellationToken) => TypedResults.Ok(await store.ListAsync(cancellationToken)));
        clients.MapPost("/", AddAsync);
        clients.MapPost("/{name}/rotate", async (HttpContext context, ClientStore store, string name, CancellationToken cancellationToken) =>
            Answer(await store.RotateAsync(name, context.GetClient().Name, cancellationToken)));
        clients.MapDelete("/{name}", async (HttpContext context, ClientStore store, string name, CancellationToken cancellationToken) =>
            Answer(await store.RemoveAsync(name, context.GetClient().Name, cancellationToken)));
        return app;
    }

    /// <summary>The body of <c>POST /api/clients</c>: a name and the policy, as in <c>Hubgate:Clients:{name}</c>.</summary>
    internal sealed record NewClient(
        string? Name,
        List<string>? Installations,
        List<string>? Repositories,
        Dictionary<string, string>? Permissions,
        List<string>? Streams,
        string? App,
        AppRight? AppAccess,
        bool? Tokens,
        bool? Admin);

    /// <summary>A client with its key, shown once.</summary>
    internal sealed record IssuedKey(ClientSummary Client, string Key);

    private static async Task<IResult> AddAsync(HttpContext context, ClientStore store, Hubgate.Apps.GitHubApps apps, NewClient body, CancellationToken cancellationToken)
    {
        var policy = new ClientOptions
        {
            Installations = body.Installations ?? [],
            Repositories = body.Repositories ?? [],
            Permissions = new Dictionary<string, string>(body.Permissions ?? [], StringComparer.OrdinalIgnoreCase),
            Streams = body.Streams ?? [],
            App = body.App,
            AppAccess = body.AppAccess,
            Tokens = body.Tokens ?? false,
            Admin = body.Admin ?? false,
        };
        if (!policy.AppLooksLikeARight && !apps.TryGet(policy.AppName, out _))
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest,
                $"app: no GitHub App named '{policy.AppName}'. Known Apps: {string.Join(", ", apps.All.Select(a => a.Name))}.");
        }

        var change = await store.AddAsync(body.Name ?? "", policy, context.GetClient().Name, cancellationToken);
        return change.Error is null ? TypedResults.Created($"/api/clients/{change.Client!.Name}", new IssuedKey(change.Client, change.Key!)) : Answer(change);
    }

    private static IResult Answer(ClientChange change) => change switch
    {
        { Error: ClientChangeError.Invalid } => HubgateProblems.Result(HubgateProblems.InvalidRequest, change.Message!),
        { Error: ClientChangeError.Conflict } => HubgateProblems.Result(HubgateProblems.Conflict, change.Message!),
        { Error: ClientChangeError.NotFound } => HubgateProblems.Result(HubgateProblems.NotFound, change.Message!),
        { Key: { } key } => TypedResults.Ok(new IssuedKey(change.Client!, key)),
        _ => TypedResults.NoContent(),
    };
}
