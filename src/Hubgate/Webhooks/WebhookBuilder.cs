using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hubgate.Webhooks;

/// <summary>Registers webhook handlers: <c>services.AddGitHubWebhooks(config).On&lt;PushEvent&gt;("push", …)</c>.</summary>
public sealed partial class WebhookBuilder(IServiceCollection services)
{
    /// <summary>The service collection the handlers are registered in.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>Handles <paramref name="event"/> (or <c>*</c> for every event), every action or only <paramref name="action"/>.</summary>
    public WebhookBuilder On(string @event, Func<WebhookContext, CancellationToken, Task> handle, string? action = null)
    {
        Services.AddSingleton(new WebhookRegistration(@event, action, handle, Describe(@event, action, "delegate")));
        return this;
    }

    /// <summary>Handles <paramref name="event"/> with the payload deserialized as <typeparamref name="TPayload"/>.</summary>
    public WebhookBuilder On<TPayload>(string @event, Func<TPayload, WebhookContext, CancellationToken, Task> handle, string? action = null)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var name = Describe(@event, action, typeof(TPayload).Name);
        Services.AddSingleton(new WebhookRegistration(@event, action, (context, token) =>
        {
            TPayload payload;
            try
            {
                payload = context.Payload<TPayload>();
            }
            catch (JsonException) when (typeof(TPayload).IsAbstract && context.Action is not null)
            {
                // Octokit.Webhooks picks the record by action; an action GitHub added after this version has none.
                // That is not the delivery's fault: skip this typed handler rather than fail the delivery.
                Log.NoModelForAction(context.Services.GetRequiredService<ILoggerFactory>().CreateLogger<WebhookDispatcher>(),
                    name, context.DeliveryId, typeof(TPayload).Name, context.Action);
                return Task.CompletedTask;
            }

            return handle(payload, context, token);
        }, name));
        return this;
    }

    /// <summary>Handles <paramref name="event"/> with a <typeparamref name="THandler"/> resolved from the delivery's scope.</summary>
    public WebhookBuilder AddHandler<THandler>(string @event, string? action = null)
        where THandler : class, IWebhookHandler
    {
        Services.TryAddScoped<THandler>();
        Services.AddSingleton(new WebhookRegistration(@event, action,
            (context, token) => context.Services.GetRequiredService<THandler>().HandleAsync(context, token), Describe(@event, action, typeof(THandler).Name)));
        return this;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 340, Level = LogLevel.Warning,
            Message = "Handler {Handler} skipped delivery {DeliveryId}: {PayloadType} has no model for action '{Action}' (a newer Octokit.Webhooks may have one; an untyped handler sees every action)")]
        public static partial void NoModelForAction(ILogger logger, string handler, string deliveryId, string payloadType, string action);
    }

    private static string Describe(string @event, string? action, string what) =>
        action is null ? $"{@event} → {what}" : $"{@event}.{action} → {what}";
}
