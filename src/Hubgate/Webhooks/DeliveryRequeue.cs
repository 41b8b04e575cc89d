using System.Globalization;
using System.Runtime.CompilerServices;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Hubgate.Webhooks;

/// <summary>
/// The one transition that puts a stored delivery back in the queue: <c>pending</c>, due now, with a full set of
/// retries (<c>AttemptsAtReplay = Attempts</c>: the count of runs goes on), no outcome. Used by the replay of the API,
/// dashboard and CLI (from any state but <c>processing</c>) and by the inbox for GitHub's own redelivery of a delivery
/// that is <c>failed</c> or <c>dead</c>. One conditional <c>UPDATE … WHERE App = … AND DeliveryId = … AND State IN (…)</c> per
/// delivery: the state is checked by the write itself, so of two replicas (or a replica and a worker claiming the
/// row) only one moves it; on PostgreSQL the other waits for the row and then finds it no longer in those states.
/// Column names and value conversions come from the EF Core model (both providers).
/// </summary>
internal static class DeliveryRequeue
{
    /// <summary>The states a replay from the API, dashboard or CLI takes a delivery from.</summary>
    public static readonly DeliveryState[] AnyButProcessing =
        [DeliveryState.Pending, DeliveryState.Processed, DeliveryState.Ignored, DeliveryState.Failed, DeliveryState.Dead];

    /// <summary>The states GitHub's redelivery (the same delivery id again) takes a delivery from: those it failed in.</summary>
    public static readonly DeliveryState[] AfterFailure = [DeliveryState.Failed, DeliveryState.Dead];

    private static readonly ConditionalWeakTable<IModel, Plan> Plans = [];

    /// <summary>
    /// Requeues each of <paramref name="rows"/> (found by <see cref="WebhookDeliveryEntity.App"/> and
    /// <see cref="WebhookDeliveryEntity.DeliveryId"/>) that is in one of
    /// <paramref name="from"/>, in the context's current transaction. Returns, per row, the sequence number requeued, or null.
    /// </summary>
    public static async Task<long?[]> RequeueAsync(HubgateDbContext db, IReadOnlyList<WebhookDeliveryEntity> rows, IReadOnlyList<DeliveryState> from,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var plan = Plans.GetValue(db.Model, Build);
        var requeued = new long?[rows.Count];
        if (rows.Count == 0)
        {
            return requeued;
        }

        var sql = plan.Head + string.Join(", ", from.Select(plan.Literal)) + plan.Tail;
        await BulkInsert.ExecutePerRowAsync(db, sql, plan.Columns, rows,
            new BulkInsert.DbParameterValue("@now", plan.TimeConverter is { } c ? c.ConvertToProvider(now)! : now),
            async (reader, r, ct) => requeued[r] = await reader.ReadAsync(ct).ConfigureAwait(false)
                ? Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture)
                : null,
            cancellationToken).ConfigureAwait(false);
        return requeued;
    }

    private static Plan Build(IModel model)
    {
        var entity = model.FindEntityType(typeof(WebhookDeliveryEntity))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        IProperty Property(string name) => entity.FindProperty(name)!;
        string Column(string name) => $"\"{Property(name).GetColumnName(table)}\"";
        var state = Property(nameof(WebhookDeliveryEntity.State));
        var stateConverter = state.GetTypeMapping().Converter;

        // The states are the enum's own names (or numbers), never input: written into the statement as literals.
        string Literal(DeliveryState value) => stateConverter?.ConvertToProvider(value) switch
        {
            string text => $"'{text}'",
            null => ((int)value).ToString(CultureInfo.InvariantCulture),
            var other => Convert.ToString(other, CultureInfo.InvariantCulture)!,
        };

        var head =
            $"UPDATE \"{table.Name}\" SET {Column(nameof(WebhookDeliveryEntity.State))} = {Literal(DeliveryState.Pending)}, " +
            $"{Column(nameof(WebhookDeliveryEntity.AttemptsAtReplay))} = {Column(nameof(WebhookDeliveryEntity.Attempts))}, " +
            $"{Column(nameof(WebhookDeliveryEntity.NextAttemptAt))} = @now, " +
            $"{Column(nameof(WebhookDeliveryEntity.ProcessedAt))} = NULL, {Column(nameof(WebhookDeliveryEntity.IgnoredReason))} = NULL " +
            $"WHERE {Column(nameof(WebhookDeliveryEntity.App))} = @p0 AND {Column(nameof(WebhookDeliveryEntity.DeliveryId))} = @p1 " +
            $"AND {Column(nameof(WebhookDeliveryEntity.State))} IN (";
        return new Plan(head, $") RETURNING {Column(nameof(WebhookDeliveryEntity.Id))}", Literal,
            [BulkInsert.ColumnOf(Property(nameof(WebhookDeliveryEntity.App))), BulkInsert.ColumnOf(Property(nameof(WebhookDeliveryEntity.DeliveryId)))],
            Property(nameof(WebhookDeliveryEntity.NextAttemptAt)).GetTypeMapping().Converter);
    }

    private sealed record Plan(string Head, string Tail, Func<DeliveryState, string> Literal, BulkInsert.Column[] Columns, ValueConverter? TimeConverter);
}
