using Hubgate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hubgate.Tests.Webhooks;

/// <summary>The start-up check says, per App, which key to set when an App has no webhook secret.</summary>
public sealed class WebhookSecretStartupCheckTests
{
    [Fact]
    public async Task AnAppWithoutAWebhookSecret_IsNamedWithItsKey_AnAppWithOneIsNot()
    {
        await using var services = await TestServices.StartAsync(new Dictionary<string, string?>
        {
            ["GitHub:AppId"] = "1001",
            ["GitHub:PrivateKey"] = TestKeys.Pkcs1Pem,
            ["GitHub:WebhookSecret"] = "startup-default-secret-6b1f0d3e",
            ["GitHub:Apps:ghes:AppId"] = "2002",
            ["GitHub:Apps:ghes:PrivateKey"] = TestKeys.Pkcs1Pem,
            ["GitHub:Apps:ghes:ApiBaseUrl"] = "https://ghes.example.com/api/v3/",
        });
        var check = services.Provider.GetServices<IHostedService>().Single(s => s.GetType().Name == "WebhookSecretStartupCheck");

        await check.StartAsync(CancellationToken.None);

        // The check's own lines (migrating PostgreSQL logs failed probes of its own at Error).
        var errors = services.Logs.GetSnapshot()
            .Where(r => r.Level == LogLevel.Error && r.Category?.EndsWith("WebhookSecretStartupCheck", StringComparison.Ordinal) == true)
            .Select(r => r.Message).ToList();
        var error = Assert.Single(errors);
        Assert.Contains("App ghes", error, StringComparison.Ordinal);
        Assert.Contains("GitHub:Apps:ghes:WebhookSecret (environment: GitHub__Apps__ghes__WebhookSecret)", error, StringComparison.Ordinal);
    }
}
