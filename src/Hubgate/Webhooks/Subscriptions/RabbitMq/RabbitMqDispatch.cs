using System.Collections.Concurrent;
using System.Text;
using Hubgate.Storage;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>
/// A RabbitMQ subscription: one persistent message per delivery — GitHub's exact bytes, the delivery id as
/// <c>message_id</c>, GitHub's headers — published <c>mandatory</c> to the subscription's exchange under its routing key,
/// delivered when the broker confirms it. Up to <c>Concurrency</c> publishes are in flight at once on the subscription's
/// channel, their confirms pipelined. A nack, a return (unroutable), a lost connection or no confirm within
/// <c>Timeout</c> is a failed attempt with that reason, tried again on the retry schedule.
/// </summary>
internal sealed class RabbitMqDispatch(RabbitMqBrokers brokers, TimeProvider time) : IDeliveryDispatch
{
    /// <summary>Routing key templates as parsed, by their text: parsed once, not at every publish (a process has a few).</summary>
    private static readonly ConcurrentDictionary<string, (RoutingKeyTemplate? Template, string? Problem)> Templates = new(StringComparer.Ordinal);

    public bool Sequential => false;

    public async Task<AttemptResult> AttemptAsync(Subscription subscription, WebhookDeliveryEntity delivery, int attempt, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(delivery);
        var started = time.GetTimestamp();
        var options = subscription.Options;
        var rabbit = options.RabbitMq;
        if (rabbit?.Uri is null)
        {
            return Failed("The subscription's broker URI cannot be decrypted with this key ring (Data Protection keys lost or not shared); add the subscription again.");
        }

        var (template, problem) = Templates.GetOrAdd(rabbit.RoutingKey ?? "", t => (RoutingKeyTemplate.Parse(t, out var p), p));
        var routingKey = template?.Render(delivery.Event, delivery.Action, delivery.InstallationId, delivery.RepositoryFullName);
        if (routingKey is null || Encoding.UTF8.GetByteCount(routingKey) > RoutingKeyTemplate.MaxBytes)
        {
            return Failed(routingKey is null
                ? $"RabbitMq:RoutingKey {problem}."
                : $"The routing key '{routingKey[..64]}…' is longer than the {RoutingKeyTemplate.MaxBytes} bytes AMQP allows; shorten RabbitMq:RoutingKey.");
        }

        using var timeout = new CancellationTokenSource(options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        var masked = BrokerUri.Masked(rabbit.Uri);
        try
        {
            var channel = await brokers.ChannelAsync(subscription.Name, options, linked.Token).ConfigureAwait(false);
            await channel.BasicPublishAsync(rabbit.Exchange, routingKey, mandatory: true, Properties(delivery), delivery.Body, linked.Token).ConfigureAwait(false);
            return new AttemptResult(AttemptOutcome.Delivered, null, null, time.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return Failed($"The broker at {masked} did not confirm the message within Timeout ({options.Timeout}).");
        }
        catch (PublishReturnException e)
        {
            return Failed($"The broker returned the message as unroutable ({e.ReplyCode} {e.ReplyText}): no queue is bound to exchange '{rabbit.Exchange}' for routing key '{routingKey}'.");
        }
        catch (PublishException)
        {
            return Failed($"The broker at {masked} refused the message (basic.nack): it was not confirmed.");
        }
        catch (BrokerException e)
        {
            return Failed(e.Message);
        }
        catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or OperationCanceledException or IOException)
        {
            var reason = e is OperationInterruptedException { ShutdownReason: { } shutdown } ? $"{shutdown.ReplyCode} {shutdown.ReplyText}" : e.Message;
            return Failed(BrokerUri.Redact($"The connection or channel to the broker at {masked} closed before the message was confirmed ({reason}); it was not delivered.", rabbit.Uri));
        }

        AttemptResult Failed(string error) => new(AttemptOutcome.Failed, null, error, time.GetElapsedTime(started));
    }

    /// <summary>The message's properties: JSON, persistent, the delivery id, the receipt time, the event, and GitHub's headers.</summary>
    internal static BasicProperties Properties(WebhookDeliveryEntity delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["x-github-event"] = delivery.Event,
            ["x-github-delivery"] = delivery.DeliveryId,
            ["x-hubgate-sequence"] = delivery.Id,
        };
        if (delivery.Action is { } action)
        {
            headers["x-github-action"] = action;
        }

        if (delivery.InstallationId is { } installation)
        {
            headers["x-github-installation-id"] = installation;
        }

        if (delivery.RepositoryId is { } repository)
        {
            headers["x-github-repository-id"] = repository;
        }

        return new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = delivery.DeliveryId,
            Timestamp = new AmqpTimestamp(delivery.ReceivedAt.ToUnixTimeSeconds()),
            Type = delivery.Event,
            AppId = "hubgate",
            Headers = headers,
        };
    }
}
