using System.Text;
using RabbitMQ.Client;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>One throwaway RabbitMQ node shared by a test class (a node starts in seconds, not milliseconds).</summary>
public sealed class RabbitMqNode : IAsyncLifetime
{
    public ThrowawayRabbitMq Broker { get; private set; } = null!;

    public async Task InitializeAsync() => Broker = await ThrowawayRabbitMq.StartNewAsync();

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

/// <summary>
/// A consumer's side of a test broker: the exchange declared as Hubgate declares it (durable topic), durable queues
/// bound to it, and what they hold read with basic.get (acknowledged as read).
/// </summary>
internal sealed class RabbitMqConsumer : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;

    private RabbitMqConsumer(IConnection connection, IChannel channel)
    {
        _connection = connection;
        _channel = channel;
    }

    /// <summary>One message as the queue gave it.</summary>
    public sealed record Message(string RoutingKey, byte[] Body, IReadOnlyBasicProperties Properties)
    {
        public string? Header(string name) => Properties.Headers?.TryGetValue(name, out var value) == true
            ? value switch { byte[] bytes => Encoding.UTF8.GetString(bytes), null => null, _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) }
            : null;

        public long? NumberHeader(string name) => Properties.Headers?.TryGetValue(name, out var value) == true && value is long number ? number : null;
    }

    public static async Task<RabbitMqConsumer> ConnectAsync(ThrowawayRabbitMq broker)
    {
        var connection = await new ConnectionFactory { Uri = new Uri(broker.Uri), AutomaticRecoveryEnabled = false }.CreateConnectionAsync();
        return new RabbitMqConsumer(connection, await connection.CreateChannelAsync());
    }

    /// <summary>Declares <paramref name="exchange"/> and <paramref name="queue"/> (durable), bound with <paramref name="bindingKey"/>.</summary>
    public async Task BindAsync(string exchange, string queue, string bindingKey)
    {
        await _channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await _channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await _channel.QueueBindAsync(queue, exchange, bindingKey);
    }

    /// <summary>Everything <paramref name="queue"/> holds now, in queue order (bounded).</summary>
    public async Task<List<Message>> DrainAsync(string queue, int max = 10_000)
    {
        var messages = new List<Message>();
        while (messages.Count < max && await _channel.BasicGetAsync(queue, autoAck: true) is { } got)
        {
            messages.Add(new Message(got.RoutingKey, got.Body.ToArray(), got.BasicProperties));
        }

        return messages;
    }

    /// <summary>How many messages <paramref name="queue"/> holds.</summary>
    public async Task<uint> CountAsync(string queue) => await _channel.MessageCountAsync(queue);

    public async ValueTask DisposeAsync()
    {
        await _channel.DisposeAsync();
        await _connection.CloseAsync();
        await _connection.DisposeAsync();
    }
}
