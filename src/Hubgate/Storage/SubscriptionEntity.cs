using Hubgate.Webhooks.Subscriptions;

namespace Hubgate.Storage;

/// <summary>
/// A subscription as stored: declared in configuration (written at start-up), added through the API or CLI, or the
/// built-in <c>local</c>. Its secret is kept encrypted with Data Protection and never read back out through the API.
/// </summary>
internal class SubscriptionEntity
{
    /// <summary><c>[a-z0-9-]{1,64}</c>.</summary>
    public required string Name { get; set; }
    public SubscriptionKind Kind { get; set; }
    /// <summary>The definition (<see cref="SubscriptionOptions"/> without its secret), as JSON.</summary>
    public required string DefinitionJson { get; set; }
    /// <summary>The signing secret, protected with Data Protection (purpose <c>Hubgate.Subscription.v1</c>).</summary>
    public string? SecretProtected { get; set; }
    /// <summary>Where it was declared.</summary>
    public SubscriptionSource Source { get; set; }
    public SubscriptionStatus Status { get; set; }
    /// <summary>Why it was disabled (410 Gone, or failing for longer than <c>DisableAfter</c>).</summary>
    public string? DisabledReason { get; set; }
    /// <summary>Since when every attempt has failed; null after a success.</summary>
    public DateTimeOffset? FailingSince { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Where a subscription was declared.</summary>
internal enum SubscriptionSource
{
    /// <summary>The built-in <c>local</c>.</summary>
    BuiltIn,
    /// <summary><c>Subscriptions:{name}</c> in configuration: written again at every start.</summary>
    Configuration,
    /// <summary><c>/api/subscriptions</c> or <c>hubgate subscriptions add</c>.</summary>
    Api,
}

/// <summary>Whether a subscription is being delivered to.</summary>
internal enum SubscriptionStatus
{
    Active,
    /// <summary>Paused by an admin: deliveries are kept for it (up to <c>Webhooks:MaxRetention</c>), not sent.</summary>
    Paused,
    /// <summary>Disabled by Hubgate (410 Gone, or failing for <c>DisableAfter</c>): like paused, with the reason; enabled by resume.</summary>
    Disabled,
}
