using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>Hubgate's services as the server composes them, on in-memory settings, with the database migrated.</summary>
internal static class BenchHost
{
    public static async Task<ServiceProvider> StartAsync(IDictionary<string, string?> settings, bool withModel)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddHubgateStorage(configuration);
        services.AddGitHubApp(configuration);
        services.AddGitHubWebhooks(configuration);
        if (withModel)
        {
            services.AddGitHubIntegrationModel(configuration);
        }

        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        return provider;
    }
}
