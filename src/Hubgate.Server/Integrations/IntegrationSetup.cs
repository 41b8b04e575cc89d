using Hubgate.Integrations;

namespace Hubgate.Server.Integrations;

internal static class IntegrationSetup
{
    /// <summary>The model built from webhooks (installations, repositories, commits, pull requests) and its sync job.</summary>
    public static WebApplicationBuilder AddIntegrations(this WebApplicationBuilder builder)
    {
        builder.Services.AddGitHubIntegrationModel(builder.Configuration);
        return builder;
    }

    /// <summary>The model's management API: installations, repositories, commits, pull requests, sync.</summary>
    public static WebApplication MapIntegrations(this WebApplication app)
    {
        app.MapIntegrationsApi();
        return app;
    }
}
