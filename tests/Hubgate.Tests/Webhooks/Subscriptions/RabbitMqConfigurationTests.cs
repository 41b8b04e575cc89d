using Hubgate.Webhooks.Subscriptions;
using Hubgate.Webhooks.Subscriptions.RabbitMq;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Webhooks.Subscriptions;

/// <summary>
/// A RabbitMQ subscription in configuration: read with its defaults, refused at start-up when it cannot work (each
/// problem naming its key, never quoting the password), and its routing key template rendered per delivery.
/// </summary>
public sealed class RabbitMqConfigurationTests
{
    private const string Password = "broker-password-not-to-be-shown";
    private const string Uri = $"amqp://hubgate:{Password}@rabbit.internal:5672/events";

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

    private static Dictionary<string, string?> Broker(params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Subscriptions:bus:Kind"] = "RabbitMq", ["Subscriptions:bus:RabbitMq:Uri"] = Uri };
        foreach (var (key, value) in more)
        {
            settings[$"Subscriptions:bus:{key}"] = value;
        }

        return settings;
    }

    [Fact]
    public void ARabbitMqSubscription_IsRead_WithItsDefaults_AndNeedsNoSecret()
    {
        var bus = Read(Broker(("Ordering", "Repository"))).Declared["bus"];

        Assert.Equal(SubscriptionKind.RabbitMq, bus.Kind);
        Assert.Equal((Uri, "github", "github.{event}.{action}", true), (bus.RabbitMq!.Uri, bus.RabbitMq.Exchange, bus.RabbitMq.RoutingKey, bus.RabbitMq.DeclareExchange));
        Assert.Equal(SubscriptionOrdering.Repository, bus.Ordering);
    }

    [Theory]
    [InlineData("RabbitMq:Uri", "http://hubgate:" + Password + "@rabbit.internal/", "Subscriptions:bus:RabbitMq:Uri must be an amqp:// or amqps:// URI")]
    [InlineData("RabbitMq:Uri", "amqp://hubgate:" + Password + "@rabbit.internal/a/b", "Subscriptions:bus:RabbitMq:Uri must be amqp(s)://user:password@host:port/vhost")]
    [InlineData("RabbitMq:Uri", "", "Subscriptions:bus:RabbitMq:Uri is required")]
    [InlineData("RabbitMq:RoutingKey", "github.{event}.{sender}", "Subscriptions:bus:RabbitMq:RoutingKey has the unknown placeholder '{sender}'")]
    [InlineData("RabbitMq:RoutingKey", "github.{event", "Subscriptions:bus:RabbitMq:RoutingKey has a '{' without its '}'")]
    [InlineData("RabbitMq:Exchange", "no spaces", "Subscriptions:bus:RabbitMq:Exchange must be 1 to 255 of")]
    [InlineData("RabbitMq:Exchange", "amq.topic", "names starting with 'amq.' are the broker's own")]
    [InlineData("Url", "https://ci.internal/", "Subscriptions:bus:Url is for Http subscriptions")]
    [InlineData("Secret", "a-subscription-secret-of-32-chars", "Subscriptions:bus:Secret is for Http subscriptions")]
    [InlineData("RabbitMq:Port", "5672", "Port")]
    public void WhatCannotWork_StopsStartUp_NamingTheKey_WithoutThePassword(string key, string value, string named)
    {
        var message = Assert.Throws<OptionsValidationException>(() => Read(Broker((key, value)))).Message;

        Assert.Contains(named, message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, message, StringComparison.Ordinal);
    }

    [Fact]
    public void RabbitMqSettings_OnAnHttpSubscription_AreRefused()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Subscriptions:ci:Url"] = "https://ci.internal/", ["Subscriptions:ci:Secret"] = "a-subscription-secret-of-32-chars",
            ["Subscriptions:ci:RabbitMq:Uri"] = Uri,
        };

        var message = Assert.Throws<OptionsValidationException>(() => Read(settings)).Message;

        Assert.Contains("Subscriptions:ci:RabbitMq is for RabbitMq subscriptions (Kind is Http)", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("github.{event}.{action}", "pull_request", "closed", 42L, "Octo-Org/API", "github.pull_request.closed")]
    [InlineData("github.{event}.{action}", "push", null, 42L, "Octo-Org/API", "github.push.none")]
    [InlineData("{installation}.{repository}.{event}", "push", null, 42L, "Octo-Org/my.site", "42.octo-org/my_site.push")]
    [InlineData("{installation}.{repository}", "ping", null, null, null, "none.none")]
    public void TheRoutingKey_IsTheTemplateFilledIn_WithNoneForWhatIsMissing_AndOneWordPerPlaceholder(
        string template, string @event, string? action, long? installation, string? repository, string expected)
    {
        Assert.Equal(expected, RoutingKeyTemplate.Parse(template, out _)!.Render(@event, action, installation, repository));
    }

    [Theory]
    [InlineData("amqp://hubgate:s3cret@rabbit:5672/vh", "amqp://hubgate:****@rabbit:5672/vh")]
    [InlineData("amqps://u:p%40ss@rabbit/", "amqps://u:****@rabbit/")]
    [InlineData("amqp://rabbit:5672/", "amqp://rabbit:5672/")]
    [InlineData("amqp://guest@rabbit/", "amqp://guest@rabbit/")]
    public void TheUriShown_HasItsPasswordMasked(string uri, string shown)
    {
        Assert.Equal(shown, BrokerUri.Masked(uri));
    }
}
