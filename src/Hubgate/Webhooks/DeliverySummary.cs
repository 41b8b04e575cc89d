using System.Linq.Expressions;
using Hubgate.Storage;

namespace Hubgate.Webhooks;

/// <summary>A stored delivery without its body: what listings show.</summary>
internal sealed record DeliverySummary(
    string App, long Sequence, string DeliveryId, string Event, string? Action, long? InstallationId, long? RepositoryId, DeliveryState State,
    int Attempts, DateTimeOffset ReceivedAt, DateTimeOffset NextAttemptAt, DateTimeOffset? ProcessedAt, string? LastError, string? IgnoredReason)
{
    /// <summary>The projection, translated to SQL by listings so the body is never read.</summary>
    internal static readonly Expression<Func<WebhookDeliveryEntity, DeliverySummary>> Projection = d => new DeliverySummary(
        d.App, d.Id, d.DeliveryId, d.Event, d.Action, d.InstallationId, d.RepositoryId, d.State, d.Attempts, d.ReceivedAt, d.NextAttemptAt,
        d.ProcessedAt, d.LastError, d.IgnoredReason);

    private static readonly Func<WebhookDeliveryEntity, DeliverySummary> FromEntity = Projection.Compile();

    public static DeliverySummary From(WebhookDeliveryEntity delivery) => FromEntity(delivery);

    /// <summary>Parses a state name as operators type it (<c>dead</c>, <c>Failed</c>).</summary>
    public static bool TryParseState(string text, out DeliveryState state) =>
        Enum.TryParse(text, ignoreCase: true, out state) && Enum.IsDefined(state);

    /// <summary>The state names, lower case, for messages.</summary>
    public static string StateNames => string.Join(", ", Enum.GetNames<DeliveryState>().Select(n => n.ToLowerInvariant()));
}
