using Hubgate.Storage;
using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.TestSupport;

/// <summary>
/// A stored delivery with where it stands for the built-in subscription <c>local</c> (the model and the in-process
/// handlers), under the names the inbox row had before subscriptions: what most tests check. Linked into both test
/// projects (they see the toolkit's internals; the support project does not).
/// </summary>
internal sealed class LocalDelivery
{
    public long Id { get; init; }
    public string App { get; init; } = "";
    public string DeliveryId { get; init; } = "";
    public string Event { get; init; } = "";
    public string? Action { get; init; }
    public long? InstallationId { get; init; }
    public long? RepositoryId { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public string? PossibleReplayOf { get; init; }
    public string BodySha256 { get; init; } = "";
    public bool FannedOut { get; init; }
    /// <summary>The body column: empty for a body in SQLite's delivery log until <see cref="LocalDeliveryQueries.WithBodiesAsync"/> reads it.</summary>
    public byte[] Body { get; set; } = [];
    public string? HeadersJson { get; init; }
    public long? HookId { get; init; }
    /// <summary><c>Pending</c> until the fan-out has given the built-in subscription its row.</summary>
    public DeliveryState State { get; init; }
    public int Attempts { get; init; }
    public int AttemptsAtReplay { get; init; }
    public DateTimeOffset NextAttemptAt { get; init; }
    public DateTimeOffset? ProcessedAt { get; init; }
    public string? LastError { get; init; }
    public string? IgnoredReason { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
}

internal static class LocalDeliveryQueries
{
    /// <summary>Every stored delivery joined with its built-in subscription's row (a query: filter and order it in SQL).</summary>
    public static IQueryable<LocalDelivery> LocalDeliveries(this HubgateDbContext db) =>
        from d in db.WebhookDeliveries
        join l in db.SubscriptionDeliveries.Where(s => s.Subscription == SubscriptionValidation.LocalName) on d.Id equals l.DeliverySeq into local
        from l in local.DefaultIfEmpty()
        select new LocalDelivery
        {
            Id = d.Id, App = d.App, DeliveryId = d.DeliveryId, Event = d.Event, Action = d.Action, InstallationId = d.InstallationId,
            RepositoryId = d.RepositoryId, ReceivedAt = d.ReceivedAt, PossibleReplayOf = d.PossibleReplayOf, BodySha256 = d.BodySha256,
            FannedOut = d.FannedOut, Body = d.Body, HeadersJson = d.HeadersJson, HookId = d.HookId,
            State = l == null ? DeliveryState.Pending : l.State,
            Attempts = l == null ? 0 : l.Attempts,
            AttemptsAtReplay = l == null ? 0 : l.AttemptsAtReplay,
            NextAttemptAt = l == null ? d.ReceivedAt : l.NextAttemptAt,
            ProcessedAt = l == null ? null : l.ProcessedAt,
            LastError = l == null ? null : l.LastError,
            IgnoredReason = l == null ? null : l.IgnoredReason,
            LeaseOwner = l == null ? null : l.LeaseOwner,
            LeaseExpiresAt = l == null ? null : l.LeaseExpiresAt,
        };
}

internal static class LocalRowQueries
{
    /// <summary>The built-in subscription's rows of the deliveries with id <paramref name="deliveryId"/> (any App): what a test updates to set a state.</summary>
    public static IQueryable<SubscriptionDeliveryEntity> LocalRowsOf(this HubgateDbContext db, string deliveryId) =>
        db.SubscriptionDeliveries.Where(s => s.Subscription == SubscriptionValidation.LocalName
            && db.WebhookDeliveries.Any(d => d.Id == s.DeliverySeq && d.DeliveryId == deliveryId));

    /// <summary>Every row of the built-in subscription.</summary>
    public static IQueryable<SubscriptionDeliveryEntity> LocalRows(this HubgateDbContext db) =>
        db.SubscriptionDeliveries.Where(s => s.Subscription == SubscriptionValidation.LocalName);

    /// <summary>
    /// Reads the bodies of <paramref name="rows"/> from where they are durable — the database, or SQLite's delivery log —
    /// as every reader in the service does (not from the workers' memory of what was just stored).
    /// </summary>
    public static async Task<List<LocalDelivery>> WithBodiesAsync(this List<LocalDelivery> rows, HubgateDbContext db, Hubgate.Webhooks.Store.DeliveryStore store)
    {
        var ids = rows.Select(r => r.Id).ToList();
        var entities = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.AsNoTracking(db.WebhookDeliveries).Where(d => ids.Contains(d.Id)));
        await store.FillBodiesAsync(entities, CancellationToken.None);
        var bodies = entities.ToDictionary(e => e.Id, e => e.Body);
        foreach (var row in rows)
        {
            row.Body = bodies[row.Id];
        }

        return rows;
    }
}
