using Hubgate.Problems;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Server.Api;
using Hubgate.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Hubgate.Server.Integrations;

/// <summary>
/// The model as JSON: installations, their repositories, commits and pull requests, and an on-demand sync. Ids are
/// GitHub's, unique within one App: every row carries its <c>app</c>, lists take <c>?app=</c>, and a single installation
/// or repository is the <c>default</c> App's unless <c>?app=</c> names another. Lists are cursor-paginated: pass the
/// answer's <c>next_after</c> / <c>next_before</c> (and <c>next_after_app</c>) back as <c>after</c> / <c>before</c>
/// (and <c>after_app</c>) until it is null.
/// </summary>
internal static class IntegrationsEndpoints
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 500;

    public static IEndpointRouteBuilder MapIntegrationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapApiGroup();
        var installations = api.MapGroup("/installations").WithTags("Installations");
        installations.MapGet("/", ListInstallationsAsync);
        installations.MapGet("/{id:long}", ShowInstallationAsync);
        installations.MapGet("/{id:long}/repositories", ListRepositoriesAsync);

        var repositories = api.MapGroup("/repositories").WithTags("Repositories");
        repositories.MapGet("/{id:long}", ShowRepositoryAsync);
        repositories.MapGet("/{id:long}/commits", ListCommitsAsync);
        repositories.MapGet("/{id:long}/pulls", ListPullsAsync);

        api.MapPost("/sync", SyncAsync).WithTags("Sync");
        return app;
    }

    private static int Take(int? limit) => Math.Clamp(limit ?? DefaultLimit, 1, MaxLimit);

    /// <summary>
    /// <c>GET /api/installations?app=default&amp;status=active&amp;limit=50&amp;after=123</c>, by id (then App: without
    /// <c>app</c>, every App's, and the cursor is <c>after</c> with <c>after_app</c>).
    /// </summary>
    private static async Task<Results<Ok<InstallationPage>, ProblemHttpResult>> ListInstallationsAsync(
        IDbContextFactory<HubgateDbContext> databases, TimeProvider time, string? app, string? status, int? limit, long? after,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "after_app")] string? afterApp, CancellationToken cancellationToken)
    {
        if (!TryFilter<InstallationStatus>(status, "status", out var wanted, out var bad))
        {
            return bad;
        }

        var take = Take(limit);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        // string.Compare is translated to SQL's > on the column (the database's own order, the one ORDER BY uses).
#pragma warning disable CA1309
        var query = db.Installations.AsNoTracking()
            .Where(i => after == null || i.Id > after || (i.Id == after && afterApp != null && string.Compare(i.App, afterApp) > 0));
#pragma warning restore CA1309
        if (!string.IsNullOrEmpty(app))
        {
            query = query.Where(i => i.App == app);
        }

        if (wanted is { } s)
        {
            query = query.Where(i => i.Status == s);
        }

        var rows = await query.OrderBy(i => i.Id).ThenBy(i => i.App).Take(take + 1).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        var last = rows.Count > take ? rows[take - 1] : null;
        return TypedResults.Ok(new InstallationPage(
            rows.Take(take).Select(i => InstallationDto.From(i, now)).ToList(), last?.Id, last?.App));
    }

    private static async Task<Results<Ok<InstallationDto>, ProblemHttpResult>> ShowInstallationAsync(
        IDbContextFactory<HubgateDbContext> databases, TimeProvider time, long id, string? app, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var row = await db.Installations.AsNoTracking().SingleOrDefaultAsync(i => i.App == app && i.Id == id, cancellationToken);
        if (row is null)
        {
            return HubgateProblems.Result(HubgateProblems.NotFound, $"No installation {id} of App {app} is known.");
        }

        var repositories = await db.Repositories.CountAsync(r => r.App == app && r.InstallationId == id && r.Status == RepositoryStatus.Active, cancellationToken);
        return TypedResults.Ok(InstallationDto.From(row, time.GetUtcNow(), repositories));
    }

    /// <summary><c>GET /api/installations/{id}/repositories?app=default&amp;status=active&amp;limit&amp;after</c>, by id.</summary>
    private static async Task<Results<Ok<RepositoryPage>, ProblemHttpResult>> ListRepositoriesAsync(
        IDbContextFactory<HubgateDbContext> databases, long id, string? app, string? status, int? limit, long? after, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        if (!TryFilter<RepositoryStatus>(status, "status", out var wanted, out var bad))
        {
            return bad;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (!await db.Installations.AnyAsync(i => i.App == app && i.Id == id, cancellationToken))
        {
            return HubgateProblems.Result(HubgateProblems.NotFound, $"No installation {id} of App {app} is known.");
        }

        var take = Take(limit);
        var query = db.Repositories.AsNoTracking().Where(r => r.App == app && r.InstallationId == id && (after == null || r.Id > after));
        if (wanted is { } s)
        {
            query = query.Where(r => r.Status == s);
        }

        var rows = await query.OrderBy(r => r.Id).Select(RepositoryDto.Projection).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new RepositoryPage(rows.Take(take).ToList(), rows.Count > take ? rows[take - 1].Id : null));
    }

    private static async Task<Results<Ok<RepositoryDto>, ProblemHttpResult>> ShowRepositoryAsync(
        IDbContextFactory<HubgateDbContext> databases, long id, string? app, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var row = await db.Repositories.AsNoTracking().Where(r => r.App == app && r.Id == id).Select(RepositoryDto.Projection)
            .SingleOrDefaultAsync(cancellationToken);
        return row is null ? HubgateProblems.Result(HubgateProblems.NotFound, $"No repository {id} of App {app} is known.") : TypedResults.Ok(row);
    }

    /// <summary><c>GET /api/repositories/{id}/commits?limit=50&amp;before=&lt;sequence&gt;</c>, most recently stored first, with file changes.</summary>
    private static async Task<Results<Ok<CommitPage>, ProblemHttpResult>> ListCommitsAsync(
        IDbContextFactory<HubgateDbContext> databases, long id, string? app, int? limit, long? before, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (!await db.Repositories.AnyAsync(r => r.App == app && r.Id == id, cancellationToken))
        {
            return HubgateProblems.Result(HubgateProblems.NotFound, $"No repository {id} of App {app} is known.");
        }

        var take = Take(limit);
        var rows = await db.Commits.AsNoTracking()
            .Where(c => c.App == app && c.RepositoryId == id && (before == null || c.Id < before))
            .OrderByDescending(c => c.Id)
            .Take(take + 1)
            .Include(c => c.FileChanges)
            .AsSplitQuery()
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new CommitPage(rows.Take(take).Select(CommitDto.From).ToList(), rows.Count > take ? rows[take - 1].Id : null));
    }

    /// <summary><c>GET /api/repositories/{id}/pulls?state=open|closed|merged|all&amp;limit&amp;before=&lt;number&gt;</c>, newest number first.</summary>
    private static async Task<Results<Ok<PullRequestPage>, ProblemHttpResult>> ListPullsAsync(
        IDbContextFactory<HubgateDbContext> databases, long id, string? app, string? state, int? limit, int? before, CancellationToken cancellationToken)
    {
        app ??= StoredApp.Default;
        if (!TryFilter<PullRequestState>(string.Equals(state, "all", StringComparison.OrdinalIgnoreCase) ? null : state, "state", out var wanted, out var bad))
        {
            return bad;
        }

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        if (!await db.Repositories.AnyAsync(r => r.App == app && r.Id == id, cancellationToken))
        {
            return HubgateProblems.Result(HubgateProblems.NotFound, $"No repository {id} of App {app} is known.");
        }

        var take = Take(limit);
        var query = db.PullRequests.AsNoTracking().Where(p => p.App == app && p.RepositoryId == id && (before == null || p.Number < before));
        if (wanted is { } s)
        {
            query = query.Where(p => p.State == s);
        }

        var rows = await query.OrderByDescending(p => p.Number).Select(PullRequestDto.Projection).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new PullRequestPage(rows.Take(take).ToList(), rows.Count > take ? rows[take - 1].Number : null));
    }

    /// <summary>
    /// <c>POST /api/sync?app=ghes</c>: syncs that App's installations now (no <c>app</c>: <c>default</c>'s) and answers its
    /// report (404 for an unknown App, 502 when GitHub cannot be listed).
    /// </summary>
    private static async Task<Results<Ok<SyncReport>, ProblemHttpResult>> SyncAsync(InstallationSync sync, string? app,
        CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(await sync.SyncAsync(app ?? StoredApp.Default, cancellationToken: cancellationToken));
        }
        catch (Hubgate.Apps.GitHubAppNotFoundException e)
        {
            return HubgateProblems.Result(HubgateProblems.UnknownApp, e.Message);
        }
        catch (Exception e) when (e is GitHubApiException or GitHubAppNotConfiguredException or HttpRequestException)
        {
            return HubgateProblems.Result(HubgateProblems.GitHubFailed, $"Could not list GitHub's installations: {e.Message}");
        }
    }

    /// <summary>Parses an optional enum filter as operators type it (<c>active</c>, <c>Merged</c>); false with a 400 answer when unknown.</summary>
    private static bool TryFilter<T>(string? text, string name, out T? value, out ProblemHttpResult bad)
        where T : struct, Enum
    {
        value = null;
        bad = null!;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (Enum.TryParse<T>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed))
        {
            value = parsed;
            return true;
        }

        var names = string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
        bad = HubgateProblems.Result(HubgateProblems.InvalidRequest, $"Unknown {name} '{text}': use one of {names}.");
        return false;
    }
}
