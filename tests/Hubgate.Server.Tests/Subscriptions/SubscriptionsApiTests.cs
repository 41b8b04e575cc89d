using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Subscriptions;

/// <summary>
/// <c>/api/subscriptions</c> on the running server and a real database: add (the signing key once, every bad field
/// named), list and show with stats (never the secret), pause and resume, remove (refused for <c>local</c> and declared
/// ones), a subscription's deliveries, and replay of a time range.
/// </summary>
public sealed class SubscriptionsApiTests
{
    internal const string ApiKey = "subscriptions-api-key-5c2a";
    internal const string WebhookSecret = "subscriptions-webhook-secret";
    internal const string DeclaredSecret = "declared-subscription-secret-0123456789";

    internal static Dictionary<string, string?> Settings() => new()
    {
        ["Hubgate:ApiKey"] = ApiKey,
        ["Hubgate:Clients:reader:Key"] = "subscriptions-reader-key-9f8e7d",
        ["GitHub:WebhookSecret"] = WebhookSecret,
        ["Webhooks:PollInterval"] = "00:00:00.050",
        // Declared in configuration, paused: it is owed deliveries but never connects anywhere.
        ["Subscriptions:declared:Url"] = "https://hooks.example.com/declared",
        ["Subscriptions:declared:Secret"] = DeclaredSecret,
        ["Subscriptions:declared:Paused"] = "true",
    };

    internal static HttpClient Client(HubgateApplication app, string key = ApiKey)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    private static Task<HttpResponseMessage> AddAsync(HttpClient client, string json) =>
        client.PostAsync(new Uri("/api/subscriptions", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> GetAsync(HttpClient client, string path) =>
        await client.GetFromJsonAsync<JsonElement>(new Uri(path, UriKind.Relative));

    private static async Task<string> ProblemDetailAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task Add_AnswersTheSigningKeyOnce_ThenListAndShowNeverCarryTheSecret()
    {
        const string secret = "api-given-subscription-secret-abcdef";
        TestSecrets.Register(secret, "a subscription secret");
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);

        var response = await AddAsync(client, $$"""
            {"name": "ci", "url": "https://hooks.example.com/ci", "secret": "{{secret}}", "events": ["push", "pull_request.closed"],
             "repositories": ["acme/api"], "installations": [42], "ordering": "repository", "concurrency": 3,
             "retry": ["00:00:05", "5m"], "timeout": "00:00:10", "disableAfter": "12h", "paused": true}
            """);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/api/subscriptions/ci", response.Headers.Location?.OriginalString);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        // The key in Standard Webhooks' form: whsec_ + base64 of the secret's UTF-8 bytes.
        Assert.Equal("whsec_" + Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), created.GetProperty("signingKey").GetString());
        var ci = created.GetProperty("subscription");
        Assert.Equal("http", ci.GetProperty("kind").GetString());
        Assert.Equal("api", ci.GetProperty("source").GetString());
        Assert.Equal("paused", ci.GetProperty("status").GetString());
        Assert.Equal("repository", ci.GetProperty("ordering").GetString());
        Assert.Equal(3, ci.GetProperty("concurrency").GetInt32());
        Assert.Equal(["00:00:05", "00:05:00"], ci.GetProperty("retry").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("00:00:10", ci.GetProperty("timeout").GetString());
        Assert.Equal("12:00:00", ci.GetProperty("disableAfter").GetString());
        Assert.Equal(["push", "pull_request.closed"], ci.GetProperty("filter").GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(42, ci.GetProperty("filter").GetProperty("installations")[0].GetInt64());

        var list = await client.GetStringAsync(new Uri("/api/subscriptions", UriKind.Relative));
        var shown = await client.GetStringAsync(new Uri("/api/subscriptions/ci", UriKind.Relative));
        var names = JsonDocument.Parse(list).RootElement.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("name").GetString());
        Assert.Equal(["ci", "declared", "local"], names.Order(StringComparer.Ordinal));
        foreach (var body in (string[])[list, shown])
        {
            Assert.Empty(TestSecrets.FindIn(body));
            Assert.DoesNotContain("whsec_", body, StringComparison.Ordinal);
            Assert.DoesNotContain("signingKey", body, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", body, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal("https://hooks.example.com/ci", JsonDocument.Parse(shown).RootElement.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Add_WithoutSecret_GeneratesOne_StreamHasNoKey_UnknownIs404()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);

        var http = await (await AddAsync(client, """{"name": "gen", "url": "https://hooks.example.com/gen", "paused": true}""")).Content.ReadFromJsonAsync<JsonElement>();
        var stream = await AddAsync(client, """{"name": "dev", "kind": "stream"}""");

        var key = http.GetProperty("signingKey").GetString()!;
        TestSecrets.Register(key, "a generated signing key");
        Assert.StartsWith("whsec_", key, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(key["whsec_".Length..]).Length);
        Assert.Equal(HttpStatusCode.Created, stream.StatusCode);
        var dev = await stream.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, dev.GetProperty("signingKey").ValueKind);
        Assert.Equal("active", dev.GetProperty("subscription").GetProperty("status").GetString());
        Assert.Empty(TestSecrets.FindIn(await client.GetStringAsync(new Uri("/api/subscriptions/gen", UriKind.Relative))));

        var detail = await ProblemDetailAsync(await client.GetAsync(new Uri("/api/subscriptions/nope", UriKind.Relative)), HttpStatusCode.NotFound);
        Assert.Contains("'nope'", detail, StringComparison.Ordinal);
        await ProblemDetailAsync(await client.PostAsync(new Uri("/api/subscriptions/nope/pause", UriKind.Relative), null), HttpStatusCode.NotFound);
        await ProblemDetailAsync(await client.DeleteAsync(new Uri("/api/subscriptions/nope", UriKind.Relative)), HttpStatusCode.NotFound);
        await ProblemDetailAsync(await client.GetAsync(new Uri("/api/subscriptions/nope/deliveries", UriKind.Relative)), HttpStatusCode.NotFound);
        await ProblemDetailAsync(await client.PostAsync(new Uri("/api/subscriptions/nope/replay?since=1h", UriKind.Relative), null), HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string> BadFields => new()
    {
        { "name", """{"name": "Bad_Name", "url": "https://a.example.com/"}""" },
        { "name", """{"url": "https://a.example.com/"}""" },
        { "kind", """{"name": "x", "kind": "queue", "url": "https://a.example.com/"}""" },
        { "kind", """{"name": "x", "kind": "local"}""" },
        { "url", """{"name": "x", "url": "ftp://a.example.com/"}""" },
        { "url", """{"name": "x"}""" },
        { "secret", """{"name": "x", "url": "https://a.example.com/", "secret": "too-short-7"}""" },
        { "events", """{"name": "x", "url": "https://a.example.com/", "events": ["Push!"]}""" },
        { "installations", """{"name": "x", "url": "https://a.example.com/", "installations": [0]}""" },
        { "repositories", """{"name": "x", "url": "https://a.example.com/", "repositories": ["no-slash"]}""" },
        { "ordering", """{"name": "x", "url": "https://a.example.com/", "ordering": "random"}""" },
        { "concurrency", """{"name": "x", "url": "https://a.example.com/", "concurrency": 0}""" },
        { "concurrency", """{"name": "x", "url": "https://a.example.com/", "concurrency": "eight"}""" },
        { "retry[1]", """{"name": "x", "url": "https://a.example.com/", "retry": ["5s", "5x"]}""" },
        { "retry", """{"name": "x", "url": "https://a.example.com/", "retry": []}""" },
        { "retry", """{"name": "x", "url": "https://a.example.com/", "retry": ["5m", "5s"]}""" },
        { "timeout", """{"name": "x", "url": "https://a.example.com/", "timeout": "0s"}""" },
        { "disableAfter", """{"name": "x", "url": "https://a.example.com/", "disableAfter": "soon"}""" },
        { "paused", """{"name": "x", "url": "https://a.example.com/", "paused": "yes"}""" },
        { "secrt", """{"name": "x", "url": "https://a.example.com/", "secrt": "misspelt-secret-value-123456"}""" },
        { "body", """{"name": "x", """ },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public async Task Add_BadField_Is400_NamingTheField(string field, string json)
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);

        var detail = await ProblemDetailAsync(await AddAsync(client, json), HttpStatusCode.BadRequest);

        Assert.StartsWith(field, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-7", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("misspelt-secret-value", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Hubgate.", detail, StringComparison.Ordinal); // no serializer type names
        var names = (await GetAsync(client, "/api/subscriptions")).GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("name").GetString());
        Assert.DoesNotContain("x", names);
    }

    [Fact]
    public async Task Add_NameTaken_Is409_ForAddedDeclaredAndLocal()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "twice", "kind": "stream"}""")).StatusCode);

        foreach (var name in (string[])["twice", "declared", "local"])
        {
            var detail = await ProblemDetailAsync(await AddAsync(client, $$"""{"name": "{{name}}", "kind": "stream"}"""), HttpStatusCode.Conflict);
            Assert.Contains($"'{name}'", detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PauseResume_ChangeTheStatus_ResumeEnablesADisabledOne()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "dev", "kind": "stream"}""")).StatusCode);

        var paused = await client.PostAsync(new Uri("/api/subscriptions/dev/pause", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("paused", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Equal("paused", (await GetAsync(client, "/api/subscriptions/dev")).GetProperty("status").GetString());

        var catalog = app.Services.GetRequiredService<Hubgate.Webhooks.Subscriptions.SubscriptionCatalog>();
        await catalog.SetStatusAsync("dev", Hubgate.Storage.SubscriptionStatus.Disabled, "the destination answered 410 Gone", CancellationToken.None);
        var disabled = await GetAsync(client, "/api/subscriptions/dev");
        Assert.Equal("disabled", disabled.GetProperty("status").GetString());
        Assert.Equal("the destination answered 410 Gone", disabled.GetProperty("disabledReason").GetString());

        var resumed = await client.PostAsync(new Uri("/api/subscriptions/dev/resume", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        var active = await resumed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("active", active.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, active.GetProperty("disabledReason").ValueKind);

        // The built-in subscription can be paused and resumed too.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/subscriptions/local/pause", UriKind.Relative), null)).StatusCode);
        Assert.Equal("paused", (await GetAsync(client, "/api/subscriptions/local")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/subscriptions/local/resume", UriKind.Relative), null)).StatusCode);
    }

    [Fact]
    public async Task Remove_AddedOne_Is204_LocalAndDeclared_Are409SayingWhere()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "gone", "kind": "stream"}""")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(new Uri("/api/subscriptions/gone", UriKind.Relative))).StatusCode);
        await ProblemDetailAsync(await client.GetAsync(new Uri("/api/subscriptions/gone", UriKind.Relative)), HttpStatusCode.NotFound);

        var local = await ProblemDetailAsync(await client.DeleteAsync(new Uri("/api/subscriptions/local", UriKind.Relative)), HttpStatusCode.Conflict);
        Assert.Contains("built-in", local, StringComparison.Ordinal);
        var declared = await ProblemDetailAsync(await client.DeleteAsync(new Uri("/api/subscriptions/declared", UriKind.Relative)), HttpStatusCode.Conflict);
        Assert.Contains("Subscriptions:declared", declared, StringComparison.Ordinal);
        Assert.Equal("configuration", (await GetAsync(client, "/api/subscriptions/declared")).GetProperty("source").GetString());
    }

    [Fact]
    public async Task Api_NeedsTheAdminRight()
    {
        using var app = new HubgateApplication(Settings());
        using var anonymous = app.CreateClient();
        using var reader = Client(app, "subscriptions-reader-key-9f8e7d");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri("/api/subscriptions", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync(new Uri("/api/subscriptions", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await AddAsync(reader, """{"name": "sneaky", "kind": "stream"}""")).StatusCode);
    }

    [Fact]
    public async Task Stats_CountTheBacklog_AndTheLastError_OfAFailingDestination()
    {
        // Loopback is refused without Subscriptions:AllowLoopback: every attempt fails at once, without a connection.
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "down", "url": "http://127.0.0.1:9/hook", "retry": ["01:00:00"]}""")).StatusCode);

        using var delivery = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "payload.json"), WebhookSecret, "stats-1");
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);

        var down = await WaitAsync(client, "/api/subscriptions/down", s => s.GetProperty("stats").GetProperty("failed").GetInt32() == 1);
        var stats = down.GetProperty("stats");
        Assert.Equal(1, stats.GetProperty("backlog").GetInt32());
        Assert.Equal(0, stats.GetProperty("deliveredLastHour").GetInt32());
        Assert.Equal(0.0, stats.GetProperty("successRate").GetDouble());
        var lastError = stats.GetProperty("lastError");
        Assert.Equal("stats-1", lastError.GetProperty("deliveryId").GetString());
        Assert.Equal("failed", lastError.GetProperty("state").GetString());
        Assert.False(string.IsNullOrEmpty(lastError.GetProperty("message").GetString()));
        Assert.NotEqual(JsonValueKind.Null, lastError.GetProperty("nextAttemptAt").ValueKind);

        // local took the same delivery (a repository webhook, no installation): ignored, so settled and not counted as delivered.
        var local = await WaitAsync(client, "/api/subscriptions/local", s => s.GetProperty("stats").GetProperty("backlog").GetInt32() == 0);
        Assert.Equal(JsonValueKind.Null, local.GetProperty("stats").GetProperty("lastError").ValueKind);

        var rows = await GetAsync(client, "/api/subscriptions/down/deliveries?state=failed");
        var row = Assert.Single(rows.GetProperty("deliveries").EnumerateArray());
        Assert.Equal("stats-1", row.GetProperty("deliveryId").GetString());
        Assert.Equal("push", row.GetProperty("event").GetString());
        Assert.Equal(1, row.GetProperty("attempts").GetInt32());
        Assert.Empty((await GetAsync(client, "/api/subscriptions/down/deliveries?state=processed")).GetProperty("deliveries").EnumerateArray());
        var badState = await ProblemDetailAsync(await client.GetAsync(new Uri("/api/subscriptions/down/deliveries?state=lost", UriKind.Relative)), HttpStatusCode.BadRequest);
        Assert.Contains("lost", badState, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_RequeuesTheRangesRowsOfOneSubscription_ByReceiptAndEvent()
    {
        using var app = new HubgateApplication(Settings());
        using var client = Client(app);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "later", "kind": "stream", "paused": true}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await AddAsync(client, """{"name": "pushes", "kind": "stream", "paused": true, "events": ["push"]}""")).StatusCode);

        await SendAsync(client, "push", WebhookFixtures.Load("push", "payload.json"), "early-push-1");
        await SendAsync(client, "push", WebhookFixtures.Load("push", "payload.json"), "early-push-2");
        await SendAsync(client, "pull_request", WebhookFixtures.Load("pull_request", "closed.payload.json"), "early-pr");
        await WaitAsync(client, "/api/subscriptions/later/deliveries", p => p.GetProperty("deliveries").GetArrayLength() == 3);
        await WaitAsync(client, "/api/subscriptions/local", s => s.GetProperty("stats").GetProperty("backlog").GetInt32() == 0);
        await Task.Delay(20);
        var boundary = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        await SendAsync(client, "push", WebhookFixtures.Load("push", "payload.json"), "late-push");
        await WaitAsync(client, "/api/subscriptions/later/deliveries", p => p.GetProperty("deliveries").GetArrayLength() == 4);
        var until = Uri.EscapeDataString(boundary.ToString("O", CultureInfo.InvariantCulture));

        // The stored filter holds: the pull request was never handed to the push-only subscription.
        var pushes = await GetAsync(client, "/api/subscriptions/pushes/deliveries");
        Assert.Equal(["late-push", "early-push-2", "early-push-1"], pushes.GetProperty("deliveries").EnumerateArray().Select(d => d.GetProperty("deliveryId").GetString()));
        Assert.Equal(2, await ReplayAsync(client, $"pushes/replay?since=1h&until={until}"));

        Assert.Equal(2, await ReplayAsync(client, $"later/replay?since=1h&until={until}&event=push"));
        Assert.Equal(1, await ReplayAsync(client, $"later/replay?since=1h&until={until}&event=pull_request.closed"));
        Assert.Equal(0, await ReplayAsync(client, $"later/replay?since=1h&until={until}&event=pull_request.opened"));
        Assert.Equal(1, await ReplayAsync(client, $"later/replay?since={until}"));
        Assert.Equal(4, await ReplayAsync(client, "later/replay?since=1h"));

        // local's rows (ignored: repository webhooks without an installation) go back through the pipeline: a second attempt each.
        Assert.Equal(3, await ReplayAsync(client, $"local/replay?since=1h&until={until}"));
        var local = await WaitAsync(client, "/api/subscriptions/local/deliveries", p =>
            p.GetProperty("deliveries").EnumerateArray().Count(d => d.GetProperty("attempts").GetInt32() == 2 && d.GetProperty("state").GetString() == "ignored") == 3);
        Assert.Equal(["late-push"], local.GetProperty("deliveries").EnumerateArray()
            .Where(d => d.GetProperty("attempts").GetInt32() == 1).Select(d => d.GetProperty("deliveryId").GetString()));

        var missing = await ProblemDetailAsync(await client.PostAsync(new Uri("/api/subscriptions/later/replay", UriKind.Relative), null), HttpStatusCode.BadRequest);
        Assert.StartsWith("since", missing, StringComparison.Ordinal);
        var backwards = await ProblemDetailAsync(await client.PostAsync(new Uri("/api/subscriptions/later/replay?since=1h&until=2h", UriKind.Relative), null),
            HttpStatusCode.BadRequest);
        Assert.StartsWith("until", backwards, StringComparison.Ordinal);
    }

    private static async Task SendAsync(HttpClient client, string @event, byte[] body, string deliveryId)
    {
        using var delivery = WebhookFixtures.Delivery("/webhooks/github", @event, body, WebhookSecret, deliveryId);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(delivery)).StatusCode);
    }

    private static async Task<int> ReplayAsync(HttpClient client, string path)
    {
        var response = await client.PostAsync(new Uri("/api/subscriptions/" + path, UriKind.Relative), null);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requeued").GetInt32();
    }

    /// <summary>Reads <paramref name="path"/> until <paramref name="done"/> holds (at most 10 s).</summary>
    internal static async Task<JsonElement> WaitAsync(HttpClient client, string path, Func<JsonElement, bool> done)
    {
        JsonElement last = default;
        for (var i = 0; i < 200; i++)
        {
            last = await GetAsync(client, path);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{path} never reached the expected state: {last}");
        return last;
    }
}
