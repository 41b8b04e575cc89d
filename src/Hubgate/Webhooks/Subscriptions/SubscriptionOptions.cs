using System.Text.Json.Serialization;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>
/// One subscription, as declared under <c>Subscriptions:{name}</c> or sent to <c>/api/subscriptions</c>: which
/// deliveries (<see cref="Events"/>, <see cref="Installations"/>, <see cref="Repositories"/>; empty = all), where they
/// go (<see cref="Kind"/>, <see cref="Url"/>, <see cref="Secret"/>), in what order and how often they are tried.
/// Stored as JSON (<c>subscriptions.DefinitionJson</c>) and read back populating the get-only filter lists: without
/// <see cref="JsonObjectCreationHandling.Populate"/> they would come back empty, and the subscription would get everything.
/// </summary>
[JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
internal sealed class SubscriptionOptions
{
    /// <summary>Where deliveries go (<c>Http</c> when unset).</summary>
    public SubscriptionKind Kind { get; set; } = SubscriptionKind.Http;

    /// <summary>An HTTP subscription's endpoint: an absolute <c>http</c> or <c>https</c> URL.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The signing secret: 24–64 bytes of UTF-8 text (what an Octokit receiver configures), or <c>whsec_</c> + base64 of
    /// the key bytes (Standard Webhooks' form). Created at random when a subscription is added without one.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>A RabbitMQ subscription's broker, exchange and routing key.</summary>
    public RabbitMq.RabbitMqOptions? RabbitMq { get; set; }

    /// <summary>Events to deliver: <c>push</c>, <c>pull_request.closed</c> (one action), <c>*</c>; empty = every event.</summary>
    public IList<string> Events { get; } = [];

    /// <summary>Installation ids to deliver for; empty = every installation (and deliveries without one).</summary>
    public IList<long> Installations { get; } = [];

    /// <summary>Repositories (<c>owner/name</c>, any case) to deliver for; empty = every repository (and deliveries without one).</summary>
    public IList<string> Repositories { get; } = [];

    /// <summary>Delivered one after another per repository or per installation, or in no order (the default).</summary>
    public SubscriptionOrdering Ordering { get; set; } = SubscriptionOrdering.None;

    /// <summary>How many deliveries may be in flight to this subscription at once (8); with ordering, per key at most one.</summary>
    public int Concurrency { get; set; } = 8;

    /// <summary>The delays between attempts, in order; unset: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. After the last, dead.</summary>
    public IList<TimeSpan>? Retry { get; set; }

    /// <summary>How long an HTTP attempt may take before it counts as failed (15 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A subscription whose every attempt has failed for this long is disabled, with the reason (24 h).</summary>
    public TimeSpan DisableAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Declared paused: deliveries are kept for it (up to <c>Webhooks:MaxRetention</c>) but not sent.</summary>
    public bool Paused { get; set; }

    /// <summary>The retry delays in use: <see cref="Retry"/>, or the default schedule.</summary>
    internal IReadOnlyList<TimeSpan> EffectiveRetry => Retry is { } retry ? [.. retry] : RetrySchedule.Default;
}
