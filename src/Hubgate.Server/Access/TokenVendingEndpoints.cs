using Hubgate.Problems;
using System.Text.Json.Serialization;
using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Access;

/// <summary>
/// Token vending: <c>POST /api/installations/{id}/access-tokens</c> (for the client's App) and
/// <c>POST /api/apps/{app}/installations/{id}/access-tokens</c> hand a client with the <c>Tokens</c> right an
/// installation token down-scoped to what it asks, within its policy (narrower is allowed, wider is 403 naming the
/// rule), for jobs that need a raw token (<c>git clone</c>, a third-party tool). Every vend is recorded
/// (<see cref="TokenVendLog"/>) and listed by <c>GET /api/audit</c> (admins).
/// </summary>
internal static class TokenVendingEndpoints
{
    private const int MaxAuditPage = 1000;

    public static IEndpointRouteBuilder MapTokenVending(this IEndpointRouteBuilder app)
    {
        // The one /api route open to clients without the Admin right: the Tokens right is checked by the handler.
        var vending = app.MapGroup("/api").RequireApiKey(admin: false).WithTags("Tokens");
        vending.MapPost("/installations/{id:long}/access-tokens", (long id, VendRequest? request, HttpContext context, VendServices services, CancellationToken cancellationToken) =>
                VendAsync(context.GetClient().Policy.AppName ?? GitHubApp.DefaultName, id, request, context, services, cancellationToken))
            .WithSummary("Vends an installation token of the client's App, down-scoped to the repositories and permissions asked, within the client's policy.");
        vending.MapPost("/apps/{app}/installations/{id:long}/access-tokens", (string app, long id, VendRequest? request, HttpContext context, VendServices services, CancellationToken cancellationToken) =>
                VendAsync(app, id, request, context, services, cancellationToken))
            .WithSummary("Vends an installation token of the App named, down-scoped to the repositories and permissions asked, within the client's policy.");
        app.MapApiGroup().WithTags("Tokens")
            .MapGet("/audit", ListAsync)
            .WithSummary("The token vends, newest first: client, App, installation, scope and expiry (never the token); ?app= for one App's.");
        return app;
    }

    private static async Task<IResult> ListAsync(TokenVendLog vends, string? app, int? limit, CancellationToken cancellationToken) =>
        TypedResults.Ok(await vends.ListAsync(app, Math.Clamp(limit ?? 100, 1, MaxAuditPage), cancellationToken));

    private static async Task<IResult> VendAsync(
        string appName, long id, VendRequest? request, HttpContext context, VendServices services, CancellationToken cancellationToken)
    {
        var (access, scopes, vends, databases) = (services.Access, services.Scopes, services.Vends, services.Databases);
        var client = context.GetClient();
        if (!services.Apps.TryGet(appName, out var app))
        {
            return HubgateProblems.Result(HubgateProblems.UnknownApp, new GitHubAppNotFoundException(appName).Message);
        }

        if (ProxyAccess.AppNameRefusal(client, app.Name) is { } otherApp)
        {
            return otherApp.ToResult(context);
        }

        if (!client.Policy.Tokens)
        {
            return new AccessRefusal(client.Name, "tokens", $"Client '{client.Name}' may not have tokens vended (Hubgate:Clients:{client.Name}:Tokens).").ToResult(context);
        }

        if (await access.InstallationRefusalAsync(client, app.Name, id, cancellationToken) is { } installation)
        {
            return installation.ToResult(context);
        }

        request ??= new VendRequest(null, null, null);
        InstallationTokenScope scope;
        try
        {
            var asked = await WithinPolicyAsync(client, app.Name, id, request, access, scopes, databases, cancellationToken);
            if (asked.Refusal is { } refusal)
            {
                return refusal.ToResult(context);
            }

            scope = asked.Scope!;
        }
        catch (ArgumentException e)
        {
            return HubgateProblems.Result(HubgateProblems.InvalidRequest, e.Message);
        }

        InstallationToken token;
        try
        {
            token = await app.Tokens.GetTokenAsync(id, scope, cancellationToken);
        }
        catch (InstallationTokenScopeException e)
        {
            return HubgateProblems.Result(HubgateProblems.TokenScopeRefused, e.Message);
        }
        catch (InstallationNotFoundException e)
        {
            return HubgateProblems.Result(HubgateProblems.InstallationNotFound, e.Message);
        }
        catch (InstallationSuspendedException e)
        {
            return HubgateProblems.Result(HubgateProblems.InstallationSuspended, e.Message);
        }
        catch (GitHubApiException e)
        {
            return HubgateProblems.Result(HubgateProblems.GitHubFailed, e.Message);
        }
        catch (GitHubAppNotConfiguredException e)
        {
            return HubgateProblems.Result(HubgateProblems.AppNotConfigured, e.Message);
        }

        await vends.RecordAsync(client.Name, app.Name, id, scope, token.ExpiresAt, cancellationToken);
        return TypedResults.Json(new VendedToken(token.Token, token.ExpiresAt, id, scope.Repositories, scope.RepositoryIds,
            scope.Permissions.ToDictionary(p => p.Key, p => p.Value), token.RepositorySelection), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>The scope asked, held to the policy; what is not asked is the policy's own (or the installation's).</summary>
    private static async Task<(InstallationTokenScope? Scope, AccessRefusal? Refusal)> WithinPolicyAsync(
        AccessClient client, string app, long installationId, VendRequest request, ProxyAccess access, ClientTokenScopes scopes,
        IDbContextFactory<HubgateDbContext> databases, CancellationToken cancellationToken)
    {
        var policy = client.Policy;
        var permissions = request.Permissions ?? policy.Permissions?.ToDictionary(p => p.Key, p => p.Value);
        foreach (var (name, level) in request.Permissions ?? [])
        {
            if (InstallationTokenScope.Rank(level) == 0)
            {
                throw new ArgumentException($"Permission {name}: \"{level}\" is not read, write or admin.");
            }

            if (policy.Permissions is { } ceiling && (!ceiling.TryGetValue(name, out var most) || InstallationTokenScope.Rank(level) > InstallationTokenScope.Rank(most)))
            {
                return (null, new AccessRefusal(client.Name, "permissions",
                    $"Client '{client.Name}' may not have {name}:{level} (Hubgate:Clients:{client.Name}:Permissions allows {(most is null ? "none of it" : name + ":" + most)})."));
            }
        }

        var names = request.Repositories ?? [];
        var ids = request.RepositoryIds ?? [];
        if (names.Count == 0 && ids.Count == 0)
        {
            // Nothing asked: the client's own repositories (all the installation has for an unlimited client).
            var own = await scopes.ResolveAsync(client, app, installationId, cancellationToken);
            return own.Refusal is { } none ? (null, none) : (InstallationTokenScope.Create(own.Scope.Repositories, own.Scope.RepositoryIds, permissions), null);
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var account = await db.Installations.AsNoTracking().Where(i => i.App == app && i.Id == installationId).Select(i => i.AccountLogin).FirstOrDefaultAsync(cancellationToken);
        var bare = new List<string>();
        foreach (var name in names)
        {
            var slash = name.IndexOf('/', StringComparison.Ordinal);
            var owner = slash > 0 ? name[..slash] : account;
            var repository = name[(slash + 1)..];
            if (owner is null || repository.Length == 0)
            {
                throw new ArgumentException($"Repository \"{name}\": give owner/name (Hubgate does not know installation {installationId}'s account yet).");
            }

            if (account is not null && !owner.Equals(account, StringComparison.OrdinalIgnoreCase))
            {
                return (null, new AccessRefusal(client.Name, "repositories", $"Repository {name} is not on installation {installationId} (account {account})."));
            }

            if (!policy.AllRepositories && await access.RepositoryByNameAsync(client, app, installationId, owner + "/" + repository, cancellationToken) is { } refused)
            {
                return (null, refused);
            }

            bare.Add(repository);
        }

        foreach (var repositoryId in ids)
        {
            if (!policy.AllRepositories && await access.RepositoryByIdAsync(client, app, installationId, repositoryId, cancellationToken) is { } refused)
            {
                return (null, refused);
            }
        }

        return (InstallationTokenScope.Create(bare, ids, permissions), null);
    }

    /// <summary>What a vend needs, resolved once per request.</summary>
    internal sealed record VendServices(GitHubApps Apps, ProxyAccess Access, ClientTokenScopes Scopes, TokenVendLog Vends, IDbContextFactory<HubgateDbContext> Databases);


    /// <summary>The body of a vend: repositories as <c>owner/name</c> (or bare names), ids, and permissions (name → level).</summary>
    internal sealed record VendRequest(
        [property: JsonPropertyName("repositories")] List<string>? Repositories,
        [property: JsonPropertyName("repository_ids")] List<long>? RepositoryIds,
        [property: JsonPropertyName("permissions")] Dictionary<string, string>? Permissions);

    internal sealed record VendedToken(
        [property: JsonPropertyName("token")] string Token,
        [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt,
        [property: JsonPropertyName("installation_id")] long InstallationId,
        [property: JsonPropertyName("repositories")] IReadOnlyList<string> Repositories,
        [property: JsonPropertyName("repository_ids")] IReadOnlyList<long> RepositoryIds,
        [property: JsonPropertyName("permissions")] Dictionary<string, string> Permissions,
        [property: JsonPropertyName("repository_selection")] string? RepositorySelection);
}
