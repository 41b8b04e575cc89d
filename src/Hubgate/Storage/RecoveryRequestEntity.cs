namespace Hubgate.Storage;

/// <summary>
/// A delivery Hubgate asked GitHub to redeliver (<c>POST /app/hook/deliveries/{id}/attempts</c>), kept so that
/// recovery runs on every replica know what was asked, when, and how it came back.
/// </summary>
internal class RecoveryRequestEntity
{
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    /// <summary>The delivery's <c>X-GitHub-Delivery</c> (GitHub's <c>guid</c>), the same on every attempt.</summary>
    public required string DeliveryGuid { get; set; }
    public required string Event { get; set; }
    public string? Action { get; set; }
    /// <summary>The attempt in GitHub's log that was asked to be redelivered; attempts with a higher id came after.</summary>
    public long HookDeliveryId { get; set; }
    public DateTimeOffset FirstRequestedAt { get; set; }
    public DateTimeOffset LastRequestedAt { get; set; }
    /// <summary>How many times a redelivery was asked for.</summary>
    public int Requests { get; set; }
    public RecoveryOutcome Outcome { get; set; }
    /// <summary>The HTTP status GitHub reported for the latest attempt after the request (Hubgate's answer), if any.</summary>
    public int? StatusCode { get; set; }
    /// <summary>Why GitHub did not accept the request, or GitHub's status text of the refused attempt.</summary>
    public string? Error { get; set; }
}

/// <summary>Where a redelivery request stands.</summary>
internal enum RecoveryOutcome
{
    /// <summary>GitHub accepted the request; the redelivery has not come back failed.</summary>
    Requested,

    /// <summary>GitHub did not accept the request (it answered an error, or could not be reached): asked again next run.</summary>
    NotAccepted,

    /// <summary>The redelivery came back and Hubgate refused it again with a 4xx: never asked again, reported instead.</summary>
    Refused,
}
