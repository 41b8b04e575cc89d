using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;
using Hubgate.Webhooks.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary><c>hubgate subscriptions …</c> on the database of a running server, which sees what the commands change.</summary>
public sealed class SubscriptionCommandsTests
{
    private static async Task<(int Exit, string Output, string Error)> RunAsync(HubgateApplication app, params string[] args)
    {
        _ = app.Services; // the server is up: it has written local and the declared subscription
        var settings = SubscriptionsApiTests.Settings();
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(args, settings, new InvocationConfiguration { Output = output, Error = error });
        TestSecrets.AssertNoneIn([("an error message", error.ToString())], []);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task AddRabbitMq_FromAUriFile_IsStoredWithItsExchange_AndListAndShowMaskThePassword()
    {
        const string password = "cli-broker-password-7d1e";
        TestSecrets.Register(password, "a RabbitMQ password");
        using var app = new HubgateApplication(SubscriptionsApiTests.Settings());
        var uriFile = Path.Combine(app.Directory, "bus.uri");
        await File.WriteAllTextAsync(uriFile, $"amqps://hubgate:{password}@mq.example.com:5671/github\n");

        var (exit, output, error) = await RunAsync(app, "subscriptions", "add", "bus", "--kind", "rabbitmq", "--rabbitmq-uri-file", uriFile,
            "--exchange", "events", "--routing-key", "{installation}.{event}", "--no-declare-exchange");

        Assert.True(exit == 0, error);
        Assert.Equal("Subscription bus (rabbitmq) is added.", output.Trim());
        var stored = (await app.Services.GetRequiredService<SubscriptionCatalog>().RefreshAsync(CancellationToken.None)).Single(s => s.Name == "bus");
        Assert.Equal(($"amqps://hubgate:{password}@mq.example.com:5671/github", "events", "{installation}.{event}", false),
            (stored.Options.RabbitMq!.Uri, stored.Options.RabbitMq.Exchange, stored.Options.RabbitMq.RoutingKey, stored.Options.RabbitMq.DeclareExchange));
        var list = await RunAsync(app, "subscriptions", "list");
        var show = await RunAsync(app, "subscriptions", "show", "bus", "--json");
        foreach (var text in (string[])[list.Output, show.Output])
        {
            Assert.Empty(TestSecrets.FindIn(text));
        }

        Assert.Contains("amqps://hubgate:****@mq.example.com:5671/github", list.Output, StringComparison.Ordinal);
        Assert.Equal("amqps://hubgate:****@mq.example.com:5671/github",
            JsonDocument.Parse(show.Output).RootElement.GetProperty("rabbitMq").GetProperty("uri").GetString());
    }

    [Fact]
    public async Task Add_PrintsTheKeyOnce_TheServerSignsWithIt_ListAndShowNeverPrintASecret()
    {
        const string secret = "cli-subscription-secret-from-a-file-42";
        TestSecrets.Register(secret, "a subscription secret");
        using var app = new HubgateApplication(SubscriptionsApiTests.Settings());
        var secretFile = Path.Combine(app.Directory, "ci.secret");
        await File.WriteAllTextAsync(secretFile, secret + "\n");

        var (exit, output, error) = await RunAsync(app, "subscriptions", "add", "ci", "--url", "https://hooks.example.com/ci", "--secret-file", secretFile,
            "--event", "push", "--event", "pull_request.closed", "--repository", "acme/api", "--installation", "42", "--ordering", "repository",
            "--concurrency", "2", "--retry", "5s", "--retry", "00:05:00", "--timeout", "10s", "--paused");

        Assert.True(exit == 0, error);
        var key = "whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes(secret));
        TestSecrets.Register(key, "a signing key");
        Assert.Equal(key, output.Trim());
        Assert.Contains("shown this once", error, StringComparison.Ordinal);
        // The server reads the stored secret with the shared key ring: it signs with the key the command printed.
        var stored = (await app.Services.GetRequiredService<SubscriptionCatalog>().RefreshAsync(CancellationToken.None)).Single(s => s.Name == "ci");
        Assert.Equal(key, stored.Key?.StandardForm);
        Assert.Equal(["push", "pull_request.closed"], stored.Options.Events);

        var list = await RunAsync(app, "subscriptions", "list");
        var listJson = await RunAsync(app, "subscriptions", "list", "--json");
        var show = await RunAsync(app, "subscriptions", "show", "ci");
        var showJson = await RunAsync(app, "subscriptions", "show", "ci", "--json");

        Assert.All((int[])[list.Exit, listJson.Exit, show.Exit, showJson.Exit], e => Assert.Equal(0, e));
        foreach (var text in (string[])[list.Output, listJson.Output, show.Output, showJson.Output])
        {
            Assert.Empty(TestSecrets.FindIn(text));
            Assert.DoesNotContain("whsec_", text, StringComparison.Ordinal);
        }

        Assert.Contains("3 subscriptions.", list.Output, StringComparison.Ordinal);
        Assert.Equal(["ci", "declared", "local"],
            JsonDocument.Parse(listJson.Output).RootElement.EnumerateArray().Select(s => s.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        Assert.Contains("repositories acme/api", show.Output, StringComparison.Ordinal);
        Assert.Contains("ordering      repository, concurrency 2", show.Output, StringComparison.Ordinal);
        Assert.Contains("retry         00:00:05, 00:05:00", show.Output, StringComparison.Ordinal);
        Assert.Equal("paused", JsonDocument.Parse(showJson.Output).RootElement.GetProperty("status").GetString());

        var json = await RunAsync(app, "subscriptions", "add", "gen", "--url", "https://hooks.example.com/gen", "--paused", "--json");
        Assert.Equal(0, json.Exit);
        var generated = JsonDocument.Parse(json.Output).RootElement;
        TestSecrets.Register(generated.GetProperty("signingKey").GetString(), "a generated signing key");
        Assert.StartsWith("whsec_", generated.GetProperty("signingKey").GetString(), StringComparison.Ordinal);
        Assert.Equal("gen", generated.GetProperty("subscription").GetProperty("name").GetString());
    }

    [Fact]
    public async Task PauseResumeRemove_ExitCodes_RefuseLocalAndDeclared_SayWhere()
    {
        using var app = new HubgateApplication(SubscriptionsApiTests.Settings());
        Assert.Equal(0, (await RunAsync(app, "subscriptions", "add", "dev", "--kind", "stream")).Exit);

        Assert.Equal(0, (await RunAsync(app, "subscriptions", "pause", "dev")).Exit);
        Assert.Equal("paused", JsonDocument.Parse((await RunAsync(app, "subscriptions", "show", "dev", "--json")).Output).RootElement.GetProperty("status").GetString());
        Assert.Equal(0, (await RunAsync(app, "subscriptions", "resume", "dev")).Exit);
        Assert.Equal("active", JsonDocument.Parse((await RunAsync(app, "subscriptions", "show", "dev", "--json")).Output).RootElement.GetProperty("status").GetString());

        var declared = await RunAsync(app, "subscriptions", "remove", "declared");
        var local = await RunAsync(app, "subscriptions", "remove", "local");
        var duplicate = await RunAsync(app, "subscriptions", "add", "dev", "--kind", "stream");
        var removed = await RunAsync(app, "subscriptions", "remove", "dev");
        var again = await RunAsync(app, "subscriptions", "remove", "dev");
        var unknown = await RunAsync(app, "subscriptions", "pause", "nope");
        var missing = await RunAsync(app, "subscriptions", "show", "nope");

        Assert.Equal(2, declared.Exit);
        Assert.Contains("Subscriptions:declared", declared.Error, StringComparison.Ordinal);
        Assert.Equal(2, local.Exit);
        Assert.Contains("built-in", local.Error, StringComparison.Ordinal);
        Assert.Equal(2, duplicate.Exit);
        Assert.Contains("exists already", duplicate.Error, StringComparison.Ordinal);
        Assert.Equal(0, removed.Exit);
        Assert.Equal(1, again.Exit);
        Assert.Equal(1, unknown.Exit);
        Assert.Equal(1, missing.Exit);
        Assert.Contains("'nope'", missing.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("url", "--url", "ftp://hooks.example.com/")]
    [InlineData("retry[0]", "--retry", "5x")]
    [InlineData("ordering", "--ordering", "sideways")]
    [InlineData("secret", "--secret", "short-secret")]
    public async Task Add_BadField_Exits2_NamingIt(string field, string option, string value)
    {
        using var app = new HubgateApplication(SubscriptionsApiTests.Settings());
        string[] url = option == "--url" ? [] : ["--url", "https://hooks.example.com/x"];

        var (exit, _, error) = await RunAsync(app, ["subscriptions", "add", "x", .. url, option, value]);

        Assert.Equal(2, exit);
        Assert.True(error.StartsWith($"hubgate: {field}", StringComparison.Ordinal), error);
        Assert.DoesNotContain("short-secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_RequeuesTheRange_ForTheServersWorker()
    {
        using var app = new HubgateApplication(SubscriptionsApiTests.Settings());
        using var client = SubscriptionsApiTests.Client(app);
        using (var delivery = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), SubscriptionsApiTests.WebhookSecret, "cli-replay"))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);
        }

        await SubscriptionsApiTests.WaitAsync(client, "/api/subscriptions/local/deliveries", p =>
            p.GetProperty("deliveries").EnumerateArray().Any(d => d.GetProperty("state").GetString() == "ignored"));

        var (exit, output, error) = await RunAsync(app, "subscriptions", "replay", "local", "--since", "1h", "--event", "push", "--json");
        var none = await RunAsync(app, "subscriptions", "replay", "local", "--since", "1h", "--event", "issues");
        var bad = await RunAsync(app, "subscriptions", "replay", "local", "--since", "yesterday-ish");

        Assert.True(exit == 0, error);
        Assert.Equal(1, JsonDocument.Parse(output).RootElement.GetProperty("requeued").GetInt32());
        Assert.Equal(0, none.Exit);
        Assert.StartsWith("0 deliveries received", none.Output, StringComparison.Ordinal);
        Assert.Equal(2, bad.Exit);
        Assert.Contains("since='yesterday-ish'", bad.Error, StringComparison.Ordinal);
        // The server's worker takes the requeued row: a second attempt.
        await SubscriptionsApiTests.WaitAsync(client, "/api/subscriptions/local/deliveries", p =>
            p.GetProperty("deliveries")[0].GetProperty("attempts").GetInt32() == 2 && p.GetProperty("deliveries")[0].GetProperty("state").GetString() == "ignored");
    }
}
