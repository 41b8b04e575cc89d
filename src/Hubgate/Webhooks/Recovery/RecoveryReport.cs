namespace Hubgate.Webhooks;

/// <summary>One redelivery Hubgate asked GitHub for (or, in a dry run, would ask for).</summary>
internal sealed record RedeliveryRequest(long HookDeliveryId, string DeliveryGuid, string Event, string? Action, DateTimeOffset DeliveredAt, string Status, bool Accepted, string? Error);

/// <summary>
/// A delivery whose redelivery Hubgate refused again with a 4xx (a bad signature, an old secret, too large, malformed):
/// it is not asked for again, since GitHub would send the same bytes with the same signature.
/// </summary>
internal sealed record RefusedRedelivery(string DeliveryGuid, string Event, string? Action, int StatusCode, string Status, int Requests,
    DateTimeOffset LastRequestedAt);

/// <summary>What a recovery run found and did.</summary>
internal sealed record RecoveryReport(
    DateTimeOffset Since,
    int Scanned,
    int Failed,
    int AlreadyStored,
    int DeliveredLater,
    IReadOnlyList<RedeliveryRequest> Requested)
{
    /// <summary>The App whose delivery log was read and whose deliveries were asked for.</summary>
    public string App { get; init; } = Apps.GitHubApp.DefaultName;

    public int Accepted => Requested.Count(r => r.Accepted);

    /// <summary>Failed deliveries asked for again that Hubgate refused again with a 4xx: reported, not asked for.</summary>
    public IReadOnlyList<RefusedRedelivery> Refused { get; init; } = [];

    /// <summary>Failed deliveries already asked for whose redelivery GitHub has not sent yet.</summary>
    public int Awaiting { get; init; }

    /// <summary>Failed deliveries of events outside the run's event filter, left alone.</summary>
    public int Filtered { get; init; }

    /// <summary>The events asked for (empty: every event).</summary>
    public IReadOnlyList<string> Events { get; init; } = [];

    /// <summary>Set when the run did nothing because another run (on this or another replica) held the recovery lease.</summary>
    public string? Skipped { get; init; }
}
