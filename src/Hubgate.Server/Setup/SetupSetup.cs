using Hubgate.Apps;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hubgate.Server.Setup;

/// <summary>Apps created and added at run time: the manifest flow, the setup callbacks, <c>/api/apps</c>.</summary>
internal static class SetupSetup
{
    public static WebApplicationBuilder AddAppSetup(this WebApplicationBuilder builder)
    {
        builder.Services.AddAppSetup(builder.Configuration);
        builder.Services.AddStoredGitHubAppsRefresh();
        return builder;
    }

    /// <summary>The services the commands need too (no background work).</summary>
    public static IServiceCollection AddAppSetup(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SetupOptions>().Bind(configuration.GetSection(SetupOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<SetupOptions>, SetupOptionsValidator>());
        services.AddStoredGitHubApps();
        services.TryAddSingleton<AppManifestFlow>();
        services.AddHttpClient(AppManifestFlow.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30));
        return services;
    }

    public static WebApplication MapAppSetup(this WebApplication app)
    {
        SetupEndpoints.Map(app);
        app.MapAppsApi();
        return app;
    }
}
