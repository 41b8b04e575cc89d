namespace Hubgate.Webhooks.Subscriptions;

/// <summary>Where a subscription's deliveries go.</summary>
internal enum SubscriptionKind
{
    /// <summary>The built-in subscription <c>local</c>: the integration model, then the handlers registered in-process.</summary>
    Local,
    /// <summary>POST to an HTTP endpoint, signed GitHub's way and Standard Webhooks' way.</summary>
    Http,
    /// <summary>Read by a listener as Server-Sent Events, resumable from a sequence.</summary>
    Stream,
    /// <summary>Published to a RabbitMQ exchange, delivered when the broker confirms it.</summary>
    RabbitMq,
}

/// <summary>Which deliveries of a subscription must be delivered one after another.</summary>
internal enum SubscriptionOrdering
{
    /// <summary>No order: up to <c>Concurrency</c> at once.</summary>
    None,
    /// <summary>In order per repository; other repositories go on meanwhile.</summary>
    Repository,
    /// <summary>In order per installation; other installations go on meanwhile.</summary>
    Installation,
}
