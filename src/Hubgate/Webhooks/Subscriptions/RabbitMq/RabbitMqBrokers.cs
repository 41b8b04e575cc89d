using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>A broker subscription's health as seen now: connected, the exchange present, and if not, why.</summary>
/// <remarks>
/// A missing exchange that Hubgate declares itself (<c>RabbitMq:DeclareExchange</c>, the default) is not a problem:
/// it is declared when the subscription's channel opens. <see cref="Error"/> then says so.
/// </remarks>
internal sealed record BrokerHealth(string Subscription, string Broker, string Exchange, bool Connected, bool ExchangePresent, string? Error,
    bool DeclaresExchange = false)
{
    public bool Ok => Connected && (ExchangePresent || (DeclaresExchange && Error is null));
}

/// <summary>
/// This process's RabbitMQ side: one <see cref="BrokerConnection"/> per broker URI, shared by the subscriptions that
/// publish there, and one publishing channel per subscription (publisher confirms, tracked by the client: a publish
/// completes when the broker confirms it and throws when it is returned or nacked). Concurrent publishes on a channel
/// are pipelined: the next is sent before the previous is confirmed, up to the subscription's <c>Concurrency</c>.
/// </summary>
internal sealed partial class RabbitMqBrokers(TimeProvider time, ILogger<RabbitMqBrokers> logger) : IAsyncDisposable
{
    /// <summary>How long a probe's answer (<see cref="ProbeAsync"/>) is reused.</summary>
    public static readonly TimeSpan ProbeCacheFor = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, BrokerConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PublisherChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (BrokerHealth Health, DateTimeOffset At)> _probes = new(StringComparer.Ordinal);

    /// <summary>The shared connection to <paramref name="uri"/> (not opened until used).</summary>
    public BrokerConnection Connection(string uri) => _connections.GetOrAdd(uri, u => new BrokerConnection(u, time));

    /// <summary>
    /// <paramref name="subscription"/>'s open publishing channel, with its exchange declared (or found, when declaring
    /// is off): made when there is none, or when the last was closed by the broker (a channel error). Throws
    /// <see cref="BrokerException"/> saying why there is none now.
    /// </summary>
    public async Task<IChannel> ChannelAsync(string subscription, SubscriptionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var rabbit = options.RabbitMq!;
        var channel = _channels.AddOrUpdate(subscription,
            _ => new PublisherChannel(Connection(rabbit.Uri!), rabbit, options.Concurrency),
            (_, existing) => existing.Matches(rabbit, options.Concurrency) ? existing : Replace(existing, rabbit, options.Concurrency));
        return await channel.GetAsync(options.Timeout, logger, subscription, cancellationToken).ConfigureAwait(false);
    }

    private PublisherChannel Replace(PublisherChannel old, RabbitMqOptions rabbit, int concurrency)
    {
        _ = old.DisposeAsync().AsTask(); // its in-flight publishes fail and are retried on the new one
        return new PublisherChannel(Connection(rabbit.Uri!), rabbit, concurrency);
    }

    /// <summary>Closes <paramref name="subscription"/>'s channel (it stopped being delivered here: paused, disabled, removed).</summary>
    public async Task ReleaseAsync(string subscription)
    {
        if (_channels.TryRemove(subscription, out var channel))
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether <paramref name="subscription"/>'s broker is connected and its exchange is there: on the shared connection
    /// (opened if need be, within 5 s), the exchange looked up on a channel of its own (a passive declare, which changes
    /// nothing). Answers are reused for <see cref="ProbeCacheFor"/>, so a readiness probe every second costs one look-up.
    /// </summary>
    public async Task<BrokerHealth> ProbeAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var rabbit = subscription.Options.RabbitMq ?? new RabbitMqOptions();
        if (_probes.TryGetValue(subscription.Name, out var cached) && time.GetUtcNow() - cached.At < ProbeCacheFor)
        {
            return cached.Health;
        }

        var health = await ProbeNowAsync(subscription.Name, rabbit, cancellationToken).ConfigureAwait(false);
        _probes[subscription.Name] = (health, time.GetUtcNow());
        return health;
    }

    private async Task<BrokerHealth> ProbeNowAsync(string name, RabbitMqOptions rabbit, CancellationToken cancellationToken)
    {
        if (rabbit.Uri is null)
        {
            return new BrokerHealth(name, "(unreadable)", rabbit.Exchange, false, false,
                "The subscription's broker URI cannot be decrypted with this key ring (Data Protection keys lost or not shared); add the subscription again.");
        }

        var broker = Connection(rabbit.Uri);
        IConnection connection;
        try
        {
            connection = await broker.GetAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (BrokerException e)
        {
            return new BrokerHealth(name, broker.Masked, rabbit.Exchange, false, false, e.Message);
        }

        if (!connection.IsOpen)
        {
            return new BrokerHealth(name, broker.Masked, rabbit.Exchange, false, false, broker.Error);
        }

        try
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                await channel.ExchangeDeclarePassiveAsync(rabbit.Exchange, cancellationToken).ConfigureAwait(false);
                return new BrokerHealth(name, broker.Masked, rabbit.Exchange, true, true, null);
            }
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            return rabbit.DeclareExchange
                ? new BrokerHealth(name, broker.Masked, rabbit.Exchange, true, false, null, DeclaresExchange: true)
                : new BrokerHealth(name, broker.Masked, rabbit.Exchange, true, false,
                    $"The exchange '{rabbit.Exchange}' does not exist on the broker at {broker.Masked} and RabbitMq:DeclareExchange is false: declare it (durable, topic).");
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or IOException or TimeoutException
                                       or (OperationCanceledException and not TaskCanceledException { CancellationToken.IsCancellationRequested: true }))
        {
            return new BrokerHealth(name, broker.Masked, rabbit.Exchange, connection.IsOpen, false,
                BrokerUri.Redact($"The exchange '{rabbit.Exchange}' could not be looked up on the broker at {broker.Masked}: {e.Message}", rabbit.Uri));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            await channel.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in _connections.Values)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _channels.Clear();
        _connections.Clear();
    }

    internal static partial class Log
    {
        [LoggerMessage(EventId = 440, Level = LogLevel.Information, Message = "[{Subscription}] Publishing to exchange {Exchange} on the broker at {Broker} (publisher confirms)")]
        public static partial void ChannelOpened(ILogger logger, string subscription, string exchange, string broker);

        [LoggerMessage(EventId = 441, Level = LogLevel.Warning, Message = "[{Subscription}] The publishing channel to the broker at {Broker} was closed ({Reason}); opening another")]
        public static partial void ChannelReopened(ILogger logger, string subscription, string broker, string reason);
    }
}

/// <summary>One subscription's publishing channel on its broker's shared connection, with the exchange it publishes to.</summary>
internal sealed class PublisherChannel(BrokerConnection broker, RabbitMqOptions rabbit, int concurrency) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string _uri = rabbit.Uri!;
    private readonly string _exchange = rabbit.Exchange;
    private readonly bool _declare = rabbit.DeclareExchange;
    private IChannel? _channel;
    private ThrottlingRateLimiter? _limiter;

    public BrokerConnection Broker => broker;

    public bool Matches(RabbitMqOptions options, int withConcurrency) =>
        options.Uri == _uri && options.Exchange == _exchange && options.DeclareExchange == _declare && withConcurrency == concurrency;

    public async Task<IChannel> GetAsync(TimeSpan timeout, ILogger logger, string subscription, CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true } opened)
            {
                return opened;
            }

            var connection = await broker.GetAsync(timeout, cancellationToken).ConfigureAwait(false);
            if (!connection.IsOpen)
            {
                throw new BrokerException(broker.Error ?? $"The connection to the broker at {broker.Masked} is closed.");
            }

            if (_channel is { } closed)
            {
                // The connection is open and the channel is not: the broker closed it (a channel error); it is not recovered.
                RabbitMqBrokers.Log.ChannelReopened(logger, subscription, broker.Masked, closed.CloseReason?.ReplyText ?? "closed");
                await DisposeChannelAsync().ConfigureAwait(false);
            }

            // Outstanding confirms are limited by the worker (at most Concurrency publishes at once); the client's own
            // limit is set above that so it never holds a publish back.
            _limiter = new ThrottlingRateLimiter(Math.Max(128, concurrency * 2));
            var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: _limiter),
                cancellationToken).ConfigureAwait(false);
            _channel = channel;
            try
            {
                if (_declare)
                {
                    await channel.ExchangeDeclareAsync(_exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await channel.ExchangeDeclarePassiveAsync(_exchange, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason is { } reason)
            {
                await DisposeChannelAsync().ConfigureAwait(false);
                throw new BrokerException(reason.ReplyCode switch
                {
                    404 => $"The exchange '{_exchange}' does not exist on the broker at {broker.Masked} and RabbitMq:DeclareExchange is false: declare it (durable, topic).",
                    406 => $"The exchange '{_exchange}' exists on the broker at {broker.Masked} with other settings than a durable topic exchange: {reason.ReplyText}.",
                    403 => $"The broker at {broker.Masked} does not let this user {(_declare ? "declare" : "use")} the exchange '{_exchange}': {reason.ReplyText}." +
                           (_declare ? " Declare it beforehand and set RabbitMq:DeclareExchange to false." : string.Empty),
                    _ => $"The broker at {broker.Masked} refused the exchange '{_exchange}': {reason.ReplyCode} {reason.ReplyText}.",
                });
            }

            RabbitMqBrokers.Log.ChannelOpened(logger, subscription, _exchange, broker.Masked);
            return channel;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task DisposeChannelAsync()
    {
        if (_channel is { } channel)
        {
            _channel = null;
            try
            {
                await channel.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException or OperationCanceledException)
            {
                // a channel that is gone already
            }
        }

        _limiter?.Dispose();
        _limiter = null;
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await DisposeChannelAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
