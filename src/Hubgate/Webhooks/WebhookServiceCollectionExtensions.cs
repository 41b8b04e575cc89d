using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Hubgate.Storage;
using Hubgate.Webhooks.Store;
using Hubgate.Webhooks.Store.Log;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.Extensions.Options;

namespace Hubgate.Webhooks;

/// <summary>Registers and maps the durable webhook receiver.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>The routes GitHub can deliver App <c>default</c>'s deliveries to: Hubgate's own and Sentry's.</summary>
    public static readonly IReadOnlyList<string> Routes = ["/webhooks/github", "/extensions/github/webhook/"];

    /// <summary>The route of each App's deliveries: <c>/webhooks/github/{app}</c>.</summary>
    public const string AppRoute = "/webhooks/github/{app}";

    /// <summary>
    /// Adds the receiver, the inbox, the background worker (unless <c>Webhooks:RunWorker</c> is false) and delivery
    /// recovery. Each App's deliveries are verified with that App's webhook secrets (<c>GitHub:WebhookSecret</c> /
    /// <c>GitHub:AdditionalWebhookSecrets</c> for <c>default</c>, <c>GitHub:Apps:{name}:…</c> for the others), the rest
    /// comes from <c>Webhooks:*</c>. Needs the store (<c>AddHubgateStorage</c>) and the Apps (<c>AddGitHubApp</c>).
    /// Register handlers on the returned builder.
    /// </summary>
    public static WebhookBuilder AddGitHubWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddGitHubWebhooks(configuration.GetSection(WebhookOptions.SectionName));
    }

    /// <summary>
    /// As <see cref="AddGitHubWebhooks(IServiceCollection, IConfiguration)"/>, with <see cref="WebhookOptions"/> bound
    /// from <paramref name="section"/> (the section itself, e.g. <c>configuration.GetSection("Webhooks")</c>, reloaded
    /// with it) and validated at start-up.
    /// </summary>
    public static WebhookBuilder AddGitHubWebhooks(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return AddGitHubWebhooks(services, services.AddOptions<WebhookOptions>().Bind(section));
    }

    /// <summary>
    /// As <see cref="AddGitHubWebhooks(IServiceCollection, IConfiguration)"/>, with <see cref="WebhookOptions"/> set by
    /// <paramref name="configure"/> (from their defaults; no configuration is read) and validated at start-up: the host
    /// does not start while a setting is out of range, and the failure names the key (<c>Webhooks:MaxAttempts</c>).
    /// The webhook secrets are the Apps' (<c>AddGitHubApp</c>).
    /// </summary>
    public static WebhookBuilder AddGitHubWebhooks(this IServiceCollection services, Action<WebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddGitHubWebhooks(services, services.AddOptions<WebhookOptions>().Configure(configure));
    }

    private static WebhookBuilder AddGitHubWebhooks(IServiceCollection services, OptionsBuilder<WebhookOptions> options)
    {
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsRangeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UnverifiedBodyBudget>();
        services.TryAddSingleton<DeliverySignal>();
        services.TryAddSingleton<DeliveryLog>();
        services.TryAddSingleton<WebhookInbox>();
        services.TryAddSingleton<WebhookReceiver>();
        services.TryAddSingleton<WebhookDispatcher>();
        services.TryAddSingleton<DeliveryStore>(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Provider == DatabaseProvider.Postgres
            ? ActivatorUtilities.CreateInstance<PostgresDeliveryStore>(sp)
            : ActivatorUtilities.CreateInstance<SqliteDeliveryStore>(sp));
        AddSubscriptions(services);
        services.TryAddSingleton<DeliveryRecovery>();
        services.AddHostedService<WebhookSecretStartupCheck>();
        services.AddHostedService<DeliveryLogStartup>();
        services.TryAddSingleton<SubscriptionScheduler>();
        services.AddHostedService<SubscriptionSchedulerHost>();

        services.AddHostedService<DeliveryRecoveryJob>();
        return new WebhookBuilder(services);
    }

    /// <summary>
    /// The subscriptions: the <c>Subscriptions</c> section (validated at start-up, each problem naming its key), the
    /// catalog, the fan-out, and a dispatch per kind — the built-in <c>local</c> (the model and the handlers registered
    /// here) and HTTP (a client that follows no redirect, uses no proxy and checks every address it connects to); their
    /// statistics and gauges (backlog, status).
    /// </summary>
    private static void AddSubscriptions(IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(SubscriptionsConfiguration)))
        {
            // Read from the host's configuration when there is one (a host built without any has no subscriptions).
            services.AddSingleton(sp => new SubscriptionsConfiguration(sp.GetService<IConfiguration>() ?? new ConfigurationBuilder().Build()));
            services.AddSingleton<IConfigureOptions<SubscriptionsOptions>>(sp => sp.GetRequiredService<SubscriptionsConfiguration>());
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubscriptionsOptions>, SubscriptionsOptionsValidator>());
        services.AddOptions<SubscriptionsOptions>().ValidateOnStart();
        services.TryAddSingleton<SubscriptionCatalog>();
        services.TryAddSingleton<WorkSignal>();
        services.TryAddSingleton<WorkerIdentity>();
        services.TryAddSingleton<FanOut>();
        services.TryAddSingleton<LocalDispatch>();
        services.TryAddSingleton<DeliveryWorker>();
        services.TryAddSingleton(sp => new HttpDestination(
            new HttpClient(HttpDestination.CreateHandler(sp.GetRequiredService<IOptions<SubscriptionsOptions>>().Value.AllowLoopback))
            {
                Timeout = Timeout.InfiniteTimeSpan,
            },
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<HttpDispatch>();
        services.TryAddSingleton<Subscriptions.RabbitMq.RabbitMqBrokers>();
        services.TryAddSingleton<Subscriptions.RabbitMq.RabbitMqDispatch>();
        services.TryAddSingleton<SubscriptionStats>();
        if (!services.Any(d => d.ServiceType == typeof(SubscriptionGauges)))
        {
            services.AddSingleton<SubscriptionGauges>();
            services.AddHostedService(sp => sp.GetRequiredService<SubscriptionGauges>());
        }
    }

    /// <summary>
    /// Maps <c>POST /webhooks/github/{app}</c> for each App, and <c>POST /webhooks/github</c> and
    /// <c>POST /extensions/github/webhook/</c> for App <c>default</c> (other methods: 405; an unknown App: 404).
    /// </summary>
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

        group.Map(AppRoute, context => context.RequestServices.GetRequiredService<WebhookReceiver>()
                .HandleAsync(context, context.Request.RouteValues["app"] as string ?? string.Empty))
            .WithDisplayName("GitHub webhook " + AppRoute)
            .ShortCircuit();
        return group;
    }
}
