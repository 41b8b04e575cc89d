namespace Hubgate.Storage;

/// <summary>A webhook delivery as received, stored before it is acknowledged.</summary>
internal class WebhookDeliveryEntity
{
    /// <summary>Local sequence number: the order of receipt.</summary>
    public long Id { get; set; }
    /// <summary>The App the row belongs to (<see cref="StoredApp"/>).</summary>
    public string App { get; set; } = StoredApp.Default;
    /// <summary><c>X-GitHub-Delivery</c>, or the body's SHA-256 when GitHub sent none. Unique per App (GitHub documents it as unique per App).</summary>
    public required string DeliveryId { get; set; }
    public required string Event { get; set; }
    public string? Action { get; set; }
    public long? InstallationId { get; set; }
    public long? RepositoryId { get; set; }
    public long? HookId { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public required byte[] Body { get; set; }
    /// <summary>Lower-case hex SHA-256 of <see cref="Body"/>.</summary>
    public required string BodySha256 { get; set; }
    /// <summary>The headers worth keeping (JSON object). Never the signature.</summary>
    public string? HeadersJson { get; set; }
    public DeliveryState State { get; set; } = DeliveryState.Pending;
    /// <summary>How many times the handlers have run for it, replays included.</summary>
    public int Attempts { get; set; }
    /// <summary>
    /// <see cref="Attempts"/> when it was last replayed (0 if never): <c>Webhooks:MaxAttempts</c> counts from here, so a
    /// replay gets a full set of retries while the count of runs keeps going up.
    /// </summary>
    public int AttemptsAtReplay { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    /// <summary>Who holds the processing lease and until when.</summary>
    public string? LeaseOwner { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }
    public string? LastError { get; set; }
    /// <summary>Why a delivery was <c>ignored</c> (no handler, no installation, installation unknown to GitHub).</summary>
    public string? IgnoredReason { get; set; }
    public DateTimeOffset? ProcessedAt { get; set; }
    /// <summary>Set when a byte-identical body arrived under another delivery id within the replay window.</summary>
    public string? PossibleReplayOf { get; set; }
}

internal enum DeliveryState
{
    Pending,
    Processing,
    Processed,
    Ignored,
    Failed,
    Dead,
}
