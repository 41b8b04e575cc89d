using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Webhooks;

/// <summary>What processing a delivery came to.</summary>
internal enum DispatchOutcome
{
    /// <summary>At least one handler ran and all succeeded.</summary>
    Processed,
    /// <summary>No handler is registered for the event and action, or a handler called <see cref="WebhookContext.Ignore"/>: kept, marked <c>ignored</c>.</summary>
    Ignored,
}

/// <summary>The outcome and, for an ignored delivery, why.</summary>
internal readonly record struct DispatchResult(DispatchOutcome Outcome, string? Reason = null);

/// <summary>
/// Runs the handlers registered for a delivery's event (and action) in a fresh DI scope, in registration order.
/// An exception from any handler fails the delivery; the worker retries it. The scope's <see cref="HubgateDbContext"/>
/// (the model's) commits without an fsync of its own on SQLite (<see cref="DeliveryStore.WithRelaxedCommitsAsync"/>).
/// </summary>
internal sealed class WebhookDispatcher(IEnumerable<WebhookRegistration> registrations, IServiceScopeFactory scopes, DeliveryStore store)
{
    private readonly WebhookRegistration[] _registrations = registrations.ToArray();

    /// <summary>The registrations, for diagnostics.</summary>
    public IReadOnlyList<WebhookRegistration> Registrations => _registrations;

    public bool HasHandler(string @event, string? action) => _registrations.Any(r => r.Matches(@event, action));

    public async Task<DispatchResult> DispatchAsync(WebhookDeliveryEntity delivery, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var matching = _registrations.Where(r => r.Matches(delivery.Event, delivery.Action)).ToList();
        if (matching.Count == 0)
        {
            return new DispatchResult(DispatchOutcome.Ignored, $"no handler is registered for {Describe(delivery.Event, delivery.Action)}");
        }

        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var context = new WebhookContext(delivery.App, delivery.Id, delivery.DeliveryId, delivery.Event, delivery.Action, delivery.InstallationId,
                delivery.RepositoryId, delivery.ReceivedAt, attempt, WebhookPayload.Json(delivery.Body), scope.ServiceProvider);
            try
            {
                return await store.WithRelaxedCommitsAsync(scope.ServiceProvider.GetRequiredService<HubgateDbContext>(),
                    () => RunAsync(matching, context, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                context.Release();
            }
        }
    }

    private static async Task<DispatchResult> RunAsync(List<WebhookRegistration> matching, WebhookContext context, CancellationToken cancellationToken)
    {
        var processedBy = 0;
        foreach (var registration in matching)
        {
            context.BeginHandler();
            try
            {
                await registration.Handle(context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                throw new WebhookHandlerException(registration.Name, e);
            }

            processedBy += context.IgnoredByCurrentHandler ? 0 : 1;
        }

        // Processed when at least one handler took it; ignored when every one of them passed on it.
        return processedBy > 0 || context.IgnoredReason is null
            ? new DispatchResult(DispatchOutcome.Processed)
            : new DispatchResult(DispatchOutcome.Ignored, context.IgnoredReason);
    }

    private static string Describe(string @event, string? action) => action is null ? @event : $"{@event}.{action}";
}

/// <summary>A webhook handler failed; <see cref="Exception.InnerException"/> is what it threw. The delivery is retried.</summary>
public sealed class WebhookHandlerException(string handler, Exception inner)
    : HubgateException($"Handler {handler} failed: {inner.GetType().Name}: {inner.Message}", inner)
{
    /// <summary>The handler's registered name.</summary>
    public string Handler { get; } = handler;
}
