using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using static Hubgate.Server.Tests.Subscriptions.FanOutDeliveryTests;
using static Hubgate.Server.Tests.Subscriptions.FanOutWorld;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// RabbitMQ subscriptions against a real broker of the tests' own (<see cref="ThrowawayRabbitMq"/>): every delivery
/// published once with GitHub's bytes, headers and a routing key a topic binding can select on, in order per repository
/// when asked, an unroutable message counted as a failure and retried, refused credentials reported clearly without the
/// password.
/// </summary>
public sealed class RabbitMqSubscriptionTests(RabbitMqNode node) : IClassFixture<RabbitMqNode>, IAsyncLifetime
{
    private FakeGitHubServer _gitHub = null!;

    private ThrowawayRabbitMq Broker => node.Broker;

    public async Task InitializeAsync() => _gitHub = await StartGitHubAsync();

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    /// <summary>An exchange (and queue prefix) of this test's own on the shared node.</summary>
    private static string Unique(string what) => $"{what}-{Guid.NewGuid():N}"[..24];

    /// <summary>Declares the RabbitMQ subscription <paramref name="name"/> publishing to <paramref name="exchange"/> on <paramref name="uri"/>.</summary>
    internal static Dictionary<string, string?> Publish(Dictionary<string, string?> settings, string name, string uri, string exchange,
        params (string Key, string Value)[] more)
    {
        settings[$"Subscriptions:{name}:Kind"] = "RabbitMq";
        settings[$"Subscriptions:{name}:RabbitMq:Uri"] = uri;
        settings[$"Subscriptions:{name}:RabbitMq:Exchange"] = exchange;
        settings[$"Subscriptions:{name}:Timeout"] = "00:00:05";
        foreach (var (key, value) in more)
        {
            settings[$"Subscriptions:{name}:{key}"] = value;
        }

        return settings;
    }

    private static async Task<Dictionary<string, WebhookDeliveryEntity>> StoredAsync(HubgateApplication app)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.WebhookDeliveries.AsNoTracking().ToDictionaryAsync(d => d.DeliveryId);
    }

    /// <summary>Asserts <paramref name="message"/> is <paramref name="sent"/> as stored in <paramref name="stored"/>: bytes, properties, headers, routing key.</summary>
    internal static void AssertIsMessageOf(RabbitMqConsumer.Message message, Sent sent, WebhookDeliveryEntity stored)
    {
        Assert.Equal(sent.Body, message.Body);
        Assert.Equal($"github.{sent.Event}.{sent.Action ?? "none"}", message.RoutingKey);
        Assert.Equal("application/json", message.Properties.ContentType);
        Assert.Equal(DeliveryModes.Persistent, message.Properties.DeliveryMode);
        Assert.Equal(sent.Id, message.Properties.MessageId);
        Assert.Equal(sent.Event, message.Properties.Type);
        Assert.Equal(stored.ReceivedAt.ToUnixTimeSeconds(), message.Properties.Timestamp.UnixTime);
        Assert.Equal(sent.Event, message.Header("x-github-event"));
        Assert.Equal(sent.Id, message.Header("x-github-delivery"));
        Assert.Equal(sent.Action, message.Header("x-github-action"));
        Assert.Equal(sent.Repo.Installation, message.NumberHeader("x-github-installation-id"));
        Assert.Equal(sent.Repo.Id, message.NumberHeader("x-github-repository-id"));
        Assert.Equal(stored.Id, message.NumberHeader("x-hubgate-sequence"));
    }

    [Fact]
    public async Task EveryDelivery_ArrivesOnceOnABoundQueue_ByteForByte_WithHeadersPropertiesAndRoutingKey_AndAPushBindingGetsOnlyPushes()
    {
        var exchange = Unique("events");
        await using var consumer = await RabbitMqConsumer.ConnectAsync(Broker);
        await consumer.BindAsync(exchange, exchange + ".all", "#");
        await consumer.BindAsync(exchange, exchange + ".pushes", "github.push.*");
        using var app = new HubgateApplication(Publish(Settings(_gitHub), "broker", Broker.Uri, exchange));
        using var client = app.CreateClient();
        var sent = Mix(4);

        await SendAllAsync(client, sent);

        var rows = await WaitRowsAsync(app, "broker", sent.Count, DeliveryState.Processed);
        Assert.All(rows, r => Assert.Equal(1, r.Attempts));
        var stored = await StoredAsync(app);
        var all = await consumer.DrainAsync(exchange + ".all");
        Assert.Equal(sent.Select(s => s.Id).Order(), all.Select(m => m.Properties.MessageId).Order());
        foreach (var message in all)
        {
            AssertIsMessageOf(message, sent.Single(s => s.Id == message.Properties.MessageId), stored[message.Properties.MessageId!]);
        }

        var pushes = await consumer.DrainAsync(exchange + ".pushes");
        Assert.Equal(sent.Where(s => s.Event == "push").Select(s => s.Id).Order(), pushes.Select(m => m.Properties.MessageId).Order());
        Assert.True(sent.Count(s => s.Event == "pull_request") == 6, "the mix has pull requests, which the push binding must not get");
    }

    [Fact]
    public async Task OrderedByRepository_AQueueWithOneConsumer_SeesEachRepositorysDeliveriesInSequenceOrder()
    {
        var exchange = Unique("ordered");
        await using var consumer = await RabbitMqConsumer.ConnectAsync(Broker);
        await consumer.BindAsync(exchange, exchange + ".q", "#");
        using var app = new HubgateApplication(Publish(Settings(_gitHub), "ordered", Broker.Uri, exchange, ("Ordering", "Repository"), ("Concurrency", "16")));
        using var client = app.CreateClient();
        var sent = Mix(8);

        await SendAllAsync(client, sent);

        await WaitRowsAsync(app, "ordered", sent.Count, DeliveryState.Processed);
        var messages = await consumer.DrainAsync(exchange + ".q");
        Assert.Equal(sent.Count, messages.Count);
        foreach (var repo in Repos)
        {
            var ofRepo = messages.Where(m => m.NumberHeader("x-github-repository-id") == repo.Id).ToList();
            Assert.Equal(sent.Where(s => s.Repo == repo).Select(s => s.Id), ofRepo.Select(m => m.Properties.MessageId));
            var sequences = ofRepo.Select(m => m.NumberHeader("x-hubgate-sequence")!.Value).ToList();
            Assert.Equal(sequences.Order(), sequences);
        }
    }

    [Fact]
    public async Task AnUnroutableMessage_IsAFailedAttemptSayingSo_AndIsDeliveredOnRetryOnceAQueueIsBound()
    {
        var exchange = Unique("unbound");
        await using var consumer = await RabbitMqConsumer.ConnectAsync(Broker);
        using var app = new HubgateApplication(Publish(Settings(_gitHub), "broker", Broker.Uri, exchange, QuickRetries(60, 250)));
        using var client = app.CreateClient();
        var push = Push(Hello, 7001);

        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(client, push));

        var failed = await WaitRowsAsync(app, "broker", 1, DeliveryState.Failed);
        Assert.Contains("unroutable", failed[0].LastError, StringComparison.Ordinal);
        Assert.Contains($"routing key 'github.push.none'", failed[0].LastError, StringComparison.Ordinal);
        await consumer.BindAsync(exchange, exchange + ".q", "github.#");
        var delivered = await WaitRowsAsync(app, "broker", 1, DeliveryState.Processed);
        Assert.True(delivered[0].Attempts > 1);
        var messages = await consumer.DrainAsync(exchange + ".q");
        Assert.Equal([push.Id], messages.Select(m => m.Properties.MessageId));
    }

    [Fact]
    public async Task RefusedCredentials_AClearErrorOnTheSubscription_InReadyzAndHubgateCheck_AndThePasswordNowhere()
    {
        var wrong = "wrong-" + Guid.NewGuid().ToString("N")[..12];
        TestSecrets.Register(wrong, "a wrong RabbitMQ password");
        var exchange = Unique("refused");
        // one retry, a minute later: the row stays failed, with its error, while the test looks at it
        var settings = Publish(Settings(_gitHub), "refused", Broker.UriWithWrongPassword(wrong), exchange, QuickRetries(1, 60_000));
        settings["Hubgate:ApiKey"] = SubscriptionsApiTests.ApiKey;
        using var app = new HubgateApplication(settings);
        using var client = SubscriptionsApiTests.Client(app);

        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(client, Push(Hello, 7101)));

        var rows = await WaitRowsAsync(app, "refused", 1, DeliveryState.Failed);
        var masked = $"amqp://{ThrowawayRabbitMq.User}:****@127.0.0.1:{Broker.Port}/";
        Assert.StartsWith($"The broker at {masked} refused the credentials: ", rows[0].LastError, StringComparison.Ordinal);

        var view = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/subscriptions/refused", UriKind.Relative));
        Assert.Equal(masked, view.GetProperty("rabbitMq").GetProperty("uri").GetString());
        Assert.Contains("refused the credentials", view.GetProperty("stats").GetProperty("lastError").GetProperty("message").GetString(), StringComparison.Ordinal);

        var ready = await client.GetFromJsonAsync<JsonElement>(new Uri("/readyz", UriKind.Relative));
        Assert.Equal("ready", ready.GetProperty("status").GetString()); // the broker is detail: deliveries wait for it
        var line = ready.GetProperty("brokers").EnumerateArray().Single();
        Assert.Equal(("refused", false, false), (line.GetProperty("subscription").GetString(), line.GetProperty("connected").GetBoolean(), line.GetProperty("ok").GetBoolean()));
        Assert.Contains("refused the credentials", line.GetProperty("error").GetString(), StringComparison.Ordinal);

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(["check", "--json"], CheckSettings(app), new InvocationConfiguration { Output = output, Error = error });
        Assert.Equal(1, exit);
        var check = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "RabbitMQ (refused)");
        Assert.False(check.GetProperty("ok").GetBoolean());
        Assert.StartsWith($"The broker at {masked} refused the credentials", check.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var (browser, _) = await Dashboard.DashboardSignIn.SignInAsync(app, SubscriptionsApiTests.ApiKey);
        using (browser)
        {
            var dashboard = await browser.GetStringAsync(new Uri("/subscriptions", UriKind.Relative));
            Assert.Contains(System.Net.WebUtility.HtmlEncode(masked), dashboard, StringComparison.Ordinal);
            TestSecrets.AssertNoneIn([("the dashboard's Subscriptions page", dashboard)], []);
        }

        TestSecrets.AssertNoneIn([("hubgate check", output + error.ToString()), ("/api/subscriptions", view.ToString()), ("/readyz", ready.ToString())], []);
        // and the logs, the error bodies and the database file are scanned when the app is disposed
    }

    [Fact]
    public async Task AddedThroughTheApi_TheUriIsShownMasked_StoredEncrypted_AndDeliveriesArePublished_AndABadUriIsRefusedNamingTheField()
    {
        var exchange = Unique("api");
        await using var consumer = await RabbitMqConsumer.ConnectAsync(Broker);
        await consumer.BindAsync(exchange, exchange + ".q", "github.push.*");
        var settings = Settings(_gitHub);
        settings["Hubgate:ApiKey"] = SubscriptionsApiTests.ApiKey;
        using var app = new HubgateApplication(settings);
        using var client = SubscriptionsApiTests.Client(app);
        var masked = $"amqp://{ThrowawayRabbitMq.User}:****@127.0.0.1:{Broker.Port}/";

        using var bad = await client.PostAsJsonAsync(new Uri("/api/subscriptions", UriKind.Relative),
            new { name = "bus", kind = "rabbitmq", rabbitMq = new { uri = Broker.Uri.Replace("amqp://", "http://", StringComparison.Ordinal), exchange } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains($"rabbitMq.uri must be an amqp:// or amqps:// URI with a host (was 'http://{ThrowawayRabbitMq.User}:****@", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var added = await client.PostAsJsonAsync(new Uri("/api/subscriptions", UriKind.Relative),
            new { name = "bus", kind = "rabbit_mq", events = new[] { "push" }, rabbitMq = new { uri = Broker.Uri, exchange } });
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var answer = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("signingKey").ValueKind);
        Assert.Equal(masked, answer.GetProperty("subscription").GetProperty("rabbitMq").GetProperty("uri").GetString());
        Assert.Equal("rabbit_mq", answer.GetProperty("subscription").GetProperty("kind").GetString());
        var push = Push(Spoon, 7201);
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(client, push));

        await WaitRowsAsync(app, "bus", 1, DeliveryState.Processed);
        Assert.Equal([push.Id], (await consumer.DrainAsync(exchange + ".q")).Select(m => m.Properties.MessageId));
        var list = await client.GetStringAsync(new Uri("/api/subscriptions", UriKind.Relative));
        Assert.Contains(masked, list, StringComparison.Ordinal);
        // the password in neither the answers nor (scanned when the app is disposed) the database file or the logs
        TestSecrets.AssertNoneIn([("POST /api/subscriptions", answer.ToString()), ("GET /api/subscriptions", list)], []);
    }

    [Fact]
    public async Task HubgateCheck_ABrokerThatAnswers_IsConnected_WithItsExchangePresent()
    {
        var exchange = Unique("checked");
        await using var consumer = await RabbitMqConsumer.ConnectAsync(Broker);
        await consumer.BindAsync(exchange, exchange + ".q", "#");
        using var app = new HubgateApplication(Publish(Settings(_gitHub), "broker", Broker.Uri, exchange));
        using var client = app.CreateClient();
        await FanOutSink.WaitUntilAsync(
            () => app.Services.GetRequiredService<SubscriptionCatalog>().RefreshAsync(CancellationToken.None).Result.Any(s => s.Name == "broker"),
            Bound, () => "the declared subscription was not written");

        using var output = new StringWriter();
        await HubgateCommand.RunAsync(["check", "--json"], CheckSettings(app), new InvocationConfiguration { Output = output, Error = TextWriter.Null });

        var check = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "RabbitMQ (broker)");
        Assert.True(check.GetProperty("ok").GetBoolean(), check.ToString());
        Assert.Equal($"amqp://{ThrowawayRabbitMq.User}:****@127.0.0.1:{Broker.Port}/: connected, exchange '{exchange}' present", check.GetProperty("detail").GetString());
        TestSecrets.AssertNoneIn([("hubgate check", output.ToString())], []);
    }

    /// <summary>What <c>hubgate check</c> needs to read <paramref name="app"/>'s subscriptions: its database and its App.</summary>
    private Dictionary<string, string?> CheckSettings(HubgateApplication app)
    {
        var settings = Settings(_gitHub);
        foreach (var (key, value) in app.DatabaseSettings)
        {
            settings[key] = value;
        }

        settings.Remove("Subscriptions:AllowLoopback");
        return settings;
    }
}
