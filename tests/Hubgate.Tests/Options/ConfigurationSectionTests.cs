using Hubgate.Apps;
using Hubgate.Authentication;
using Hubgate.Integrations;
using Hubgate.Tests.Infrastructure;
using Hubgate.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Options;

/// <summary>The <c>IConfigurationSection</c> overloads bind the section given, wherever it sits, and name its keys.</summary>
public sealed class ConfigurationSectionTests
{
    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddGitHubApp(configuration.GetSection("MyService:GitHub"));
        services.AddGitHubWebhooks(configuration.GetSection("MyService:Inbox"));
        services.AddGitHubIntegrationModel(configuration.GetSection("MyService:Model"));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Sections_AreBoundWhereverTheySit()
    {
        using var services = Services(new()
        {
            ["MyService:GitHub:AppId"] = "4711",
            ["MyService:GitHub:Apps:ghes:AppId"] = "815",
            ["MyService:GitHub:Apps:ghes:PrivateKey"] = TestKeys.Pkcs1Pem,
            ["MyService:Inbox:MaxAttempts"] = "4",
            ["MyService:Model:SkipCommitMarker"] = "[no model]",
            ["GitHub:AppId"] = "1", // the root's GitHub section is not the one given
        });

        Assert.Equal(4711, services.GetRequiredService<IOptions<GitHubAppOptions>>().Value.AppId);
        Assert.Equal(815, services.GetRequiredService<IOptions<GitHubAppsOptions>>().Value.Apps["ghes"].AppId);
        Assert.Equal(4, services.GetRequiredService<IOptions<WebhookOptions>>().Value.MaxAttempts);
        Assert.Equal("[no model]", services.GetRequiredService<IOptions<IntegrationOptions>>().Value.SkipCommitMarker);
    }

    [Fact]
    public void AnAppSettingOutOfRange_IsNamedUnderTheSectionsOwnPath()
    {
        using var services = Services(new()
        {
            ["MyService:GitHub:RequestTimeout"] = "00:00:00",
            ["MyService:GitHub:Apps:ghes:AppId"] = "815",
            ["MyService:GitHub:Apps:ghes:PrivateKey"] = TestKeys.Pkcs1Pem,
            ["MyService:GitHub:Apps:ghes:RetryDelay"] = "01:00:00",
        });

        var single = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GitHubAppOptions>>().Value);
        var named = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<GitHubAppsOptions>>().Value);

        Assert.Contains("MyService:GitHub:RequestTimeout must be between", single.Message, StringComparison.Ordinal);
        Assert.Contains("MyService:GitHub:Apps:ghes:RetryDelay must be between", named.Message, StringComparison.Ordinal);
    }
}
