namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>
/// A RabbitMQ subscription's broker (<c>Subscriptions:{name}:RabbitMq:*</c>, <c>rabbitMq</c> in the API): where to
/// publish, to which exchange, under which routing key. The URI's password is a secret: stored encrypted, shown masked.
/// </summary>
internal sealed class RabbitMqOptions
{
    /// <summary>The default <see cref="Exchange"/>.</summary>
    public const string DefaultExchange = "github";

    /// <summary>The default <see cref="RoutingKey"/>.</summary>
    public const string DefaultRoutingKey = "github.{event}.{action}";

    /// <summary>The broker: <c>amqp://user:password@host:5672/vhost</c> or <c>amqps://…</c> (TLS).</summary>
    public string? Uri { get; set; }

    /// <summary>The durable topic exchange messages are published to (<c>github</c>).</summary>
    public string Exchange { get; set; } = DefaultExchange;

    /// <summary>
    /// The routing key template: <c>{event}</c>, <c>{action}</c>, <c>{installation}</c> and <c>{repository}</c>
    /// (<c>github.{event}.{action}</c>); what a delivery lacks is <c>none</c>.
    /// </summary>
    public string RoutingKey { get; set; } = DefaultRoutingKey;

    /// <summary>Declares the exchange (durable, topic) when missing (true); false for a broker where Hubgate may not declare.</summary>
    public bool DeclareExchange { get; set; } = true;
}
