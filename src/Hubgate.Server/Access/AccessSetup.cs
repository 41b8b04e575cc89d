using Hubgate.Server.Api;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Access;

internal static class AccessSetup
{
    /// <summary>Clients and their policies (<c>Hubgate:ApiKey</c>, <c>Hubgate:Clients</c>), validated at start-up.</summary>
    public static IServiceCollection AddAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApiKeyOptions>().Bind(configuration.GetSection(ApiKeyOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiKeyOptions>, ClientOptionsValidator>();
        services.AddSingleton<ClientStore>();
        services.AddSingleton<ClientDirectory>();
        services.AddSingleton<FailedKeyThrottle>();
        services.AddSingleton<ProxyAccess>();
        services.AddSingleton<ClientTokenScopes>();
        services.AddSingleton<TokenVendLog>();
        services.AddSingleton<TokenVendingEndpoints.VendServices>();
        return services;
    }

    /// <summary><c>/api/clients</c>: the clients managed at run time.</summary>
    public static WebApplication MapClients(this WebApplication app)
    {
        app.MapClientsApi();
        return app;
    }
}
