using Hubgate.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>Registers and maps the durable webhook receiver.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>The routes GitHub can deliver to: Hubgate's own and Sentry's.</summary>
    public static readonly IReadOnlyList<string> Routes = ["/webhooks/github", "/extensions/github/webhook/"];

    /// <summary>
    /// Adds the receiver, the inbox, the background worker (unless <c>Webhooks:RunWorker</c> is false) and delivery
    /// recovery. Secrets come from <c>GitHub:WebhookSecret</c> / <c>GitHub:AdditionalWebhookSecrets</c>, the rest from
    /// <c>Webhooks:*</c>. Needs the store (<c>AddHubgateStorage</c>); recovery needs <c>AddGitHubApp</c>.
    /// Register handlers on the returned builder.
    /// </summary>
    public static WebhookBuilder AddGitHubWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WebhookSecretOptions>().Bind(configuration.GetSection("GitHub"));
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WebhookSecrets>();
        services.TryAddSingleton<UnverifiedBodyBudget>();
        services.TryAddSingleton<DeliverySignal>();
        services.TryAddSingleton<WebhookInbox>();
        services.TryAddSingleton<WebhookReceiver>();
        services.TryAddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<DeliveryWorker>();
        services.TryAddSingleton<DeliveryRecovery>();
        services.AddHostedService<WebhookSecretStartupCheck>();
        if (configuration.GetSection(WebhookOptions.SectionName).GetValue(nameof(WebhookOptions.RunWorker), true))
        {
            services.AddHostedService(sp => sp.GetRequiredService<DeliveryWorker>());
        }

        services.AddHostedService<DeliveryRecoveryJob>();
        return new WebhookBuilder(services);
    }

    /// <summary>Maps <c>POST /webhooks/github</c> and <c>POST /extensions/github/webhook/</c> (other methods: 405).</summary>
    public static IEndpointConventionBuilder MapGitHubWebhooks(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("");
        foreach (var route in Routes)
        {
            // Short-circuited: answered as soon as routing has matched, past the host's authentication, authorization
            // and antiforgery middleware — a delivery is authenticated by its signature, and GitHub posts thousands.
            group.Map(route, context => context.RequestServices.GetRequiredService<WebhookReceiver>().HandleAsync(context))
                .WithDisplayName("GitHub webhook " + route)
                .ShortCircuit();
        }

        return group;
    }
}
