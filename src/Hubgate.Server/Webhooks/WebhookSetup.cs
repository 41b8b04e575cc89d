using Hubgate.Webhooks;

namespace Hubgate.Server.Webhooks;

internal static class WebhookSetup
{
    /// <summary>The webhook receiver, inbox, worker and recovery (<c>GitHub:WebhookSecret</c>, <c>Webhooks:*</c>).</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddGitHubWebhooks(builder.Configuration);
        return builder;
    }

    /// <summary>The delivery routes GitHub posts to, and the deliveries management API.</summary>
    public static WebApplication MapWebhooks(this WebApplication app)
    {
        app.MapGitHubWebhooks();
        app.MapDeliveriesApi();
        return app;
    }
}
