using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>Why a broker could not be used now, in words that name the broker by its masked URI (never its password).</summary>
internal sealed class BrokerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The one connection of this process to one broker URI, shared by every subscription that publishes there (channels
/// are per subscription). Opened at the first use; once open, the client recovers it by itself after a broker restart or
/// a dropped connection (automatic recovery, with its channels and the exchanges they declared). A failed first open is
/// remembered for <see cref="RetryAfter"/>, so that a batch of attempts to a broker that is down does not open a
/// connection each: they fail at once with the same reason, and go through their subscription's retry schedule.
/// </summary>
internal sealed class BrokerConnection(string uri, TimeProvider time) : IAsyncDisposable
{
    /// <summary>How long a failed open is remembered before the next attempt opens again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>How long the client waits between attempts to recover a lost connection.</summary>
    public static readonly TimeSpan RecoveryInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;
    private (string Error, DateTimeOffset At)? _failure;

    /// <summary>The URI as it may be shown (password masked).</summary>
    public string Masked { get; } = BrokerUri.Masked(uri)!;

    /// <summary>Open now (false while the client recovers a lost connection, or before the first open).</summary>
    public bool IsOpen => _connection?.IsOpen == true;

    /// <summary>Why the last open failed, or why the open connection is closed now; null when it is open.</summary>
    public string? Error => _connection is { } connection
        ? connection.IsOpen ? null : $"The connection to the broker at {Masked} was lost ({Reason(connection.CloseReason?.ReplyText)}); the client is recovering it."
        : _failure?.Error;

    /// <summary>The open (or recovering) connection, opened within <paramref name="timeout"/> when there is none yet.</summary>
    public async Task<IConnection> GetAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_connection is { } open)
        {
            return open;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is { } opened)
            {
                return opened;
            }

            if (_failure is { } failure && time.GetUtcNow() - failure.At < RetryAfter)
            {
                throw new BrokerException(failure.Error);
            }

            var factory = new ConnectionFactory
            {
                Uri = new Uri(uri),
                AutomaticRecoveryEnabled = true,
                TopologyRecoveryEnabled = true,
                NetworkRecoveryInterval = RecoveryInterval,
                RequestedConnectionTimeout = timeout,
                ClientProvidedName = "hubgate",
            };
            try
            {
                _connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                _failure = null;
                return _connection;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var error = BrokerUri.Redact(Describe(e), uri);
                _failure = (error, time.GetUtcNow());
                throw new BrokerException(error);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>What went wrong opening the connection: refused credentials, a vhost that does not exist, or unreachable.</summary>
    private string Describe(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationFailureException or PossibleAuthenticationFailureException)
            {
                return $"The broker at {Masked} refused the credentials: {Reason(inner.Message)}. Check the user and password of RabbitMq:Uri.";
            }

            if (inner is AggregateException aggregate && aggregate.InnerExceptions.FirstOrDefault(x => x is AuthenticationFailureException or PossibleAuthenticationFailureException) is { } auth)
            {
                return $"The broker at {Masked} refused the credentials: {Reason(auth.Message)}. Check the user and password of RabbitMq:Uri.";
            }

            if (inner is OperationInterruptedException { ShutdownReason: { } reason })
            {
                return $"The broker at {Masked} closed the connection while it was opened: {reason.ReplyCode} {Reason(reason.ReplyText)}.";
            }
        }

        var innermost = e;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException is AggregateException { InnerExceptions.Count: > 0 } many ? many.InnerExceptions[0] : innermost.InnerException;
        }

        return $"The broker at {Masked} cannot be reached: {Reason(innermost.Message)}.";
    }

    private static string Reason(string? text) => string.IsNullOrWhiteSpace(text) ? "no reason given" : text.TrimEnd('.');

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or TimeoutException or OperationCanceledException)
            {
                // closing a connection that is gone: nothing to do
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }
}
