namespace Hubgate.Storage;

/// <summary>
/// A webhook delivery as received, stored before it is acknowledged: what GitHub sent and what the inbox read from it.
/// What became of it is kept per subscription (<see cref="SubscriptionDeliveryEntity"/>), the built-in <c>local</c> one
/// (the model and the in-process handlers) among them.
/// </summary>
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
    /// <summary>The payload's <c>repository.full_name</c> (<c>owner/name</c>), what subscriptions filter repositories by.</summary>
    public string? RepositoryFullName { get; set; }
    public long? HookId { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public required byte[] Body { get; set; }

    /// <summary>
    /// SQLite with the delivery log: the body is not in the database but in the log's record at this sequence (its
    /// <see cref="LogOffset"/> in the segment); the body column then holds no bytes. Null: the body is in the column
    /// (PostgreSQL, the log turned off, and every delivery stored before the log).
    /// </summary>
    public long? LogSequence { get; set; }

    /// <summary>Where the record <see cref="LogSequence"/> starts in its segment file.</summary>
    public long? LogOffset { get; set; }
    /// <summary>Lower-case hex SHA-256 of <see cref="Body"/>.</summary>
    public required string BodySha256 { get; set; }
    /// <summary>The headers worth keeping (JSON object). Never the signature.</summary>
    public string? HeadersJson { get; set; }
    /// <summary>
    /// Whether it has been handed to the subscriptions (a row per subscription it matches). False from ingest to the
    /// worker's next fan-out: ingest does no per-subscription work.
    /// </summary>
    public bool FannedOut { get; set; }
    /// <summary>Set when a byte-identical body arrived under another delivery id within the replay window.</summary>
    public string? PossibleReplayOf { get; set; }
}

/// <summary>
/// Where a delivery stands for one subscription: <c>pending → processing → processed | ignored | failed → dead</c>, or
/// <c>expired</c> when retention removed it before the subscription was done with it. For a destination outside the
/// process, <c>processed</c> is "delivered" (it answered 2xx, or a stream's listener acknowledged it).
/// </summary>
internal enum DeliveryState
{
    Pending,
    Processing,
    Processed,
    Ignored,
    Failed,
    Dead,
    Expired,
}
