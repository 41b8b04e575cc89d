using Hubgate.Webhooks.Subscriptions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Webhooks.Subscriptions;

public sealed class SubscriptionsConfigurationTests
{
    private const string Secret = "a-subscription-secret-of-32-chars";

    private static SubscriptionsOptions Read(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<IConfigureOptions<SubscriptionsOptions>, SubscriptionsConfiguration>()
            .AddSingleton<IValidateOptions<SubscriptionsOptions>, SubscriptionsOptionsValidator>();
        services.AddOptions();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<SubscriptionsOptions>>().Value;
    }

    private static string Refusal(Dictionary<string, string?> settings) =>
        Assert.Throws<OptionsValidationException>(() => Read(settings)).Message;

    [Fact]
    public void DeclaredSubscriptions_AreRead_WithTheirFiltersOrderingAndRetries()
    {
        var options = Read(new()
        {
            ["Subscriptions:AllowLoopback"] = "true",
            ["Subscriptions:ci:Url"] = "https://ci.internal/hooks",
            ["Subscriptions:ci:Secret"] = Secret,
            ["Subscriptions:ci:Events:0"] = "push",
            ["Subscriptions:ci:Events:1"] = "pull_request.closed",
            ["Subscriptions:ci:Repositories:0"] = "acme/api",
            ["Subscriptions:ci:Ordering"] = "Repository",
            ["Subscriptions:ci:Retry:0"] = "00:00:01",
            ["Subscriptions:ci:Retry:1"] = "00:00:10",
            ["Subscriptions:dev:Kind"] = "Stream",
        });

        Assert.True(options.AllowLoopback);
        Assert.Equal(["ci", "dev"], options.Declared.Keys.Order());
        var ci = options.Declared["ci"];
        Assert.Equal(["push", "pull_request.closed"], ci.Events);
        Assert.Equal(SubscriptionOrdering.Repository, ci.Ordering);
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)], ci.EffectiveRetry);
        Assert.Equal(RetrySchedule.Default, options.Declared["dev"].EffectiveRetry);
        Assert.Equal(SubscriptionKind.Stream, options.Declared["dev"].Kind);
    }

    [Fact]
    public void NothingDeclared_IsNoSubscriptionAndNoLoopback()
    {
        var options = Read([]);

        Assert.Empty(options.Declared);
        Assert.False(options.AllowLoopback);
    }

    [Theory]
    [InlineData("Subscriptions:ci:Url", "ftp://x", "Subscriptions:ci:Url must be an absolute http or https URL")]
    [InlineData("Subscriptions:ci:Kind", "Htp", "Subscriptions:ci:Kind")]
    [InlineData("Subscriptions:ci:Ur1", "https://ci.internal/", "Ur1")]
    [InlineData("Subscriptions:ci:Retry:0", "soon", "Subscriptions:ci:Retry:0")]
    [InlineData("Subscriptions:AllowLoopback", "yes", "Subscriptions:AllowLoopback must be true or false")]
    public void WhatCannotWork_StopsStartUp_NamingTheKey(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?> { ["Subscriptions:ci:Url"] = "https://ci.internal/", ["Subscriptions:ci:Secret"] = Secret, [key] = value };

        var message = Refusal(settings);

        Assert.Contains(named, message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASubscriptionWithoutASecret_InConfiguration_IsRefused()
    {
        Assert.Contains("Subscriptions:ci:Secret is empty", Refusal(new() { ["Subscriptions:ci:Url"] = "https://ci.internal/" }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Subscriptions:CI:Url", "is not a subscription name")]
    [InlineData("Subscriptions:local:Url", "'local' is the built-in subscription")]
    public void BadOrReservedNames_AreRefused(string key, string expected)
    {
        Assert.Contains(expected, Refusal(new() { [key] = "https://ci.internal/" }), StringComparison.Ordinal);
    }
}
