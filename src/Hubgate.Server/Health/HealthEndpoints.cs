using Hubgate.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hubgate.Server.Health;

internal static class HealthEndpoints
{
    /// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the database answers and is migrated.</summary>
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    private static async Task<Results<Ok<ReadyAnswer>, JsonHttpResult<ReadyAnswer>>> ReadyAsync(
        DatabaseMigrator migrator, CancellationToken cancellationToken)
    {
        var (reachable, migrated, error) = await migrator.CheckAsync(cancellationToken);
        var answer = new ReadyAnswer(reachable && migrated ? "ready" : "unavailable", reachable, migrated, error);
        return reachable && migrated
            ? TypedResults.Ok(answer)
            : TypedResults.Json(answer, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    internal sealed record ReadyAnswer(string Status, bool DatabaseReachable, bool Migrated, string? Error);
}
