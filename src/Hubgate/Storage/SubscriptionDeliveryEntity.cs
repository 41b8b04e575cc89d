namespace Hubgate.Storage;

/// <summary>
/// One delivery for one subscription: its own attempts, next attempt, lease and outcome, independent of every other
/// subscription's. Created by the worker's fan-out for each subscription whose filter the delivery passes.
/// </summary>
internal class SubscriptionDeliveryEntity
{
    /// <summary>The subscription's name (<see cref="SubscriptionEntity.Name"/>).</summary>
    public required string Subscription { get; set; }
    /// <summary>The delivery's sequence number (<see cref="WebhookDeliveryEntity.Id"/>).</summary>
    public long DeliverySeq { get; set; }
    public DeliveryState State { get; set; } = DeliveryState.Pending;
    /// <summary>How many attempts there have been, replays included.</summary>
    public int Attempts { get; set; }
    /// <summary>
    /// <see cref="Attempts"/> when it was last replayed (0 if never): the retry schedule counts from here, so a replay
    /// gets a full set of retries while the count of attempts keeps going up.
    /// </summary>
    public int AttemptsAtReplay { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    /// <summary>Who holds the lease and until when.</summary>
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>The HTTP status of the last attempt, for an HTTP subscription.</summary>
    public int? LastStatus { get; set; }
    /// <summary>Why it was <c>ignored</c> (no handler, no installation, installation unknown to GitHub).</summary>
    public string? IgnoredReason { get; set; }
    /// <summary>When it was processed (delivered) or ignored.</summary>
    public DateTimeOffset? ProcessedAt { get; set; }
    /// <summary>
    /// For a subscription ordered by repository or installation, that id: a row is not due while an earlier row of the
    /// subscription with the same key is neither done nor dead. Null: no order.
    /// </summary>
    public long? OrderKey { get; set; }
}
