namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// A stored delivery as a subscription sends it: GitHub's exact bytes and the headers a GitHub receiver reads, plus the
/// inbox's sequence number (the order of receipt, and a stream's event id).
/// </summary>
internal sealed record OutgoingDelivery(
    long Sequence,
    string DeliveryId,
    string Event,
    string? Action,
    long? InstallationId,
    string? RepositoryFullName,
    string? HookId,
    string? TargetId,
    string? TargetType,
    DateTimeOffset ReceivedAt,
    ReadOnlyMemory<byte> Body);

/// <summary>What one attempt to deliver came to.</summary>
internal enum AttemptOutcome
{
    /// <summary>The destination took it (2xx, or a broker's confirm).</summary>
    Delivered,
    /// <summary>It did not (3xx, 4xx, 5xx, timeout, connection refused): tried again on the retry schedule.</summary>
    Failed,
    /// <summary>The destination said it is gone for good (410): the subscription is disabled.</summary>
    Gone,
    /// <summary>The built-in subscription only: no handler took it (<see cref="AttemptResult.Error"/> says why); kept as ignored.</summary>
    Ignored,
}

/// <summary>One attempt's result: the outcome, the HTTP status when there was one, and the error in words (never a secret).</summary>
internal sealed record AttemptResult(AttemptOutcome Outcome, int? Status, string? Error, TimeSpan Duration);
