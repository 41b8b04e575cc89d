using System.Text.Json;
using Hubgate.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks.Subscriptions;

/// <summary>How one kind of subscription makes one attempt at one delivery.</summary>
internal interface IDeliveryDispatch
{
    /// <summary>Whether a batch's attempts are made one after another (the built-in subscription, as before subscriptions) rather than concurrently.</summary>
    bool Sequential { get; }

    /// <summary>Makes attempt <paramref name="attempt"/>; throws <see cref="OperationCanceledException"/> only when <paramref name="stoppingToken"/> fires.</summary>
    Task<AttemptResult> AttemptAsync(Subscription subscription, WebhookDeliveryEntity delivery, int attempt, CancellationToken stoppingToken);
}

/// <summary>
/// The built-in subscription <c>local</c>: the integration model, then the handlers registered with
/// <c>AddGitHubWebhooks</c>, in a fresh scope (<see cref="WebhookDispatcher"/>), within <c>Webhooks:HandlerTimeout</c>.
/// A handler that loses an insert race with another worker is run again within the same attempt.
/// </summary>
internal sealed partial class LocalDispatch(WebhookDispatcher dispatcher, IOptionsMonitor<WebhookOptions> options, TimeProvider time,
    ILogger<LocalDispatch> logger) : IDeliveryDispatch
{
    /// <summary>How many times a delivery's handlers run within one attempt when they lose an insert race.</summary>
    private const int MaxRunsOnInsertRace = 3;

    public bool Sequential => true;

    public async Task<AttemptResult> AttemptAsync(Subscription subscription, WebhookDeliveryEntity delivery, int attempt, CancellationToken stoppingToken)
    {
        var settings = options.CurrentValue;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(settings.HandlerTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        try
        {
            for (var run = 1; ; run++)
            {
                try
                {
                    var result = await dispatcher.DispatchAsync(delivery, attempt, linked.Token).ConfigureAwait(false);
                    return result.Outcome == DispatchOutcome.Processed
                        ? new AttemptResult(AttemptOutcome.Delivered, null, null, time.GetElapsedTime(started))
                        : new AttemptResult(AttemptOutcome.Ignored, null, result.Reason, time.GetElapsedTime(started));
                }
                catch (WebhookHandlerException e) when (run < MaxRunsOnInsertRace && DatabaseErrors.IsUniqueViolation(e))
                {
                    // Another worker inserted the same row (a repository seen for the first time by two deliveries at
                    // once, say). Handlers are idempotent: running them again now finds the row, within this attempt.
                    Log.InsertRace(logger, delivery.DeliveryId, delivery.Event, e.Handler);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var error = timeout.IsCancellationRequested && e is OperationCanceledException
                ? $"The handlers did not finish within Webhooks:HandlerTimeout ({settings.HandlerTimeout}) and were cancelled."
                : e is WebhookHandlerException handler ? handler.Message + "\n" + handler.InnerException : e.ToString();
            return new AttemptResult(AttemptOutcome.Failed, null, error, time.GetElapsedTime(started));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 328, Level = LogLevel.Debug, Message = "Delivery {DeliveryId} ({Event}): handler {Handler} lost an insert race with another worker; running the handlers again")]
        public static partial void InsertRace(ILogger logger, string deliveryId, string @event, string handler);
    }
}

/// <summary>
/// An HTTP subscription: one signed POST of GitHub's exact bytes (<see cref="HttpDestination"/>), concurrently up to the
/// subscription's <c>Concurrency</c>.
/// </summary>
internal sealed class HttpDispatch(HttpDestination destination) : IDeliveryDispatch
{
    public bool Sequential => false;

    public Task<AttemptResult> AttemptAsync(Subscription subscription, WebhookDeliveryEntity delivery, int attempt, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        ArgumentNullException.ThrowIfNull(delivery);
        if (subscription.Key is not { } key)
        {
            return Task.FromResult(new AttemptResult(AttemptOutcome.Failed, null,
                "The subscription's secret cannot be read (Data Protection keys lost or not shared); add the subscription again.", TimeSpan.Zero));
        }

        return destination.SendAsync(new Uri(subscription.Options.Url!), key, Outgoing(delivery), subscription.Options.Timeout, stoppingToken);
    }

    /// <summary>A stored delivery as subscriptions send it, with the GitHub headers the inbox kept.</summary>
    internal static OutgoingDelivery Outgoing(WebhookDeliveryEntity delivery)
    {
        // The kept headers are parsed once per attempt, not once per header looked up.
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (delivery.HeadersJson is not null)
        {
            using var document = JsonDocument.Parse(delivery.HeadersJson);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    headers.TryAdd(property.Name, property.Value.GetString()!);
                }
            }
        }

        string? Header(string name) => headers.GetValueOrDefault(name);

        return new OutgoingDelivery(delivery.Id, delivery.DeliveryId, delivery.Event, delivery.Action, delivery.InstallationId,
            delivery.RepositoryFullName, delivery.HookId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Header("X-GitHub-Hook-ID"),
            Header("X-GitHub-Hook-Installation-Target-ID"), Header("X-GitHub-Hook-Installation-Target-Type"), delivery.ReceivedAt, delivery.Body);
    }
}
