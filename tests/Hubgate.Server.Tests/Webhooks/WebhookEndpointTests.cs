using Hubgate.Webhooks.Store;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>The webhook endpoint on the real server: every row of the check table, in order, plus storage.</summary>
public sealed class WebhookEndpointTests : IDisposable
{
    private const string Secret = "endpoint-test-secret";
    private const string Path = "/webhooks/github";
    private static readonly byte[] Push = WebhookFixtures.Load("push", "with-new-branch.payload.json");
    private readonly HubgateApplication _app;
    private readonly HttpClient _client;

    public WebhookEndpointTests()
    {
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:RunWorker"] = "false",
        });
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _client.Dispose();
        _app.Dispose();
    }

    private static HttpRequestMessage Delivery(string @event, byte[] body, string? secret = Secret, string? id = null, string path = Path) =>
        WebhookFixtures.Delivery(path, @event, body, secret, id);

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)response.StatusCode, json.RootElement.GetProperty("status").GetInt32());
        return json.RootElement.GetProperty("detail").GetString()!;
    }

    private async Task<List<LocalDelivery>> StoredAsync()
    {
        await using var scope = _app.Services.CreateAsyncScope();
        await using var db = await scope.ServiceProvider.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await (await db.LocalDeliveries().OrderBy(d => d.Id).ToListAsync()).WithBodiesAsync(db, scope.ServiceProvider.GetRequiredService<DeliveryStore>());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task NotPost_405_WithAllow(string method)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), Path);
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Contains("POST", response.Content.Headers.Allow);
        Assert.Contains("POST", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task NoSecretConfigured_401_AndAnErrorLogNamingTheSetting_AtStartAndOnEachRequest(string? secret)
    {
        using var app = new HubgateApplication(new Dictionary<string, string?> { ["GitHub:WebhookSecret"] = secret, ["Webhooks:RunWorker"] = "false" });
        using var client = app.CreateClient();
        var atStart = app.Logs.GetSnapshot().Count(r => r.Level == Microsoft.Extensions.Logging.LogLevel.Error && r.Message.Contains("GitHub:WebhookSecret", StringComparison.Ordinal));
        Assert.Equal(1, atStart);

        using var first = WebhookFixtures.Delivery(Path, "push", Push, "whatever");
        var response = await client.SendAsync(first);
        using var second = WebhookFixtures.Delivery(Path, "push", Push, "whatever");
        await client.SendAsync(second);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("secret", await ErrorOf(response), StringComparison.OrdinalIgnoreCase);
        var errors = app.Logs.GetSnapshot().Count(r => r.Level == Microsoft.Extensions.Logging.LogLevel.Error && r.Message.Contains("GitHub:WebhookSecret", StringComparison.Ordinal));
        Assert.Equal(3, errors);
    }

    [Fact]
    public async Task BodyOfExactly25MiB_IsAccepted()
    {
        // A JSON object padded with spaces to exactly GitHub's cap.
        var body = new byte[25 * 1024 * 1024];
        Array.Fill(body, (byte)' ');
        "{\"zen\":\"big\"}"u8.CopyTo(body);
        using var request = Delivery("ping", body, id: "exactly-the-cap");

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(body, (await StoredAsync()).Single().Body); // byte for byte (streamed into SQLite, bound on PostgreSQL)
    }

    [Fact]
    public async Task LargeBodiesInOneBatch_EachStoredByteForByte_DuplicatesStillCaught()
    {
        var bodies = Enumerable.Range(0, 4).Select(n =>
        {
            var body = new byte[(2 * 1024 * 1024) + n];
            Array.Fill(body, (byte)' ');
            Encoding.UTF8.GetBytes($"{{\"zen\":\"large {n}\"}}").CopyTo(body, 0); // a JSON object padded with spaces
            return body;
        }).ToList();

        var answers = await Task.WhenAll(bodies.Select((b, n) => SendAsync(b, $"large-{n}"))
            .Append(SendAsync(bodies[0], "large-0")));

        Assert.Equal(4, answers.Count(a => a == HttpStatusCode.Accepted));
        Assert.Equal(1, answers.Count(a => a == HttpStatusCode.OK));
        var stored = (await StoredAsync()).ToDictionary(d => d.DeliveryId);
        Assert.Equal(4, stored.Count);
        for (var n = 0; n < 4; n++)
        {
            Assert.Equal(bodies[n], stored[$"large-{n}"].Body);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bodies[n])), stored[$"large-{n}"].BodySha256);
        }
    }

    private async Task<HttpStatusCode> SendAsync(byte[] body, string id)
    {
        using var request = Delivery("ping", body, id: id);
        return (await _client.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task EmptyBody_400()
    {
        using var request = Delivery("push", []);
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no body", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task MissingOrEmptyEvent_400(string? @event)
    {
        using var request = Delivery("push", Push);
        request.Headers.Remove("X-GitHub-Event");
        if (@event is not null)
        {
            request.Headers.TryAddWithoutValidation("X-GitHub-Event", @event);
        }

        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("X-GitHub-Event", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoSignature_400()
    {
        using var request = Delivery("push", Push, secret: null);
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not signed", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "malformed")]
    [InlineData("sha256=abc", "malformed")]
    [InlineData("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "malformed")]
    [InlineData("sha512=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", "unsupported algorithm")]
    public async Task MalformedOrUnknownAlgorithm_400(string header, string expected)
    {
        using var request = Delivery("push", Push, secret: null);
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", header);
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, await ErrorOf(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongSecret_401_AndTheAnswerRevealsNoDigest()
    {
        using var request = Delivery("push", Push, secret: "not-the-secret");
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(WebhookFixtures.SignSha256(Push, Secret)["sha256=".Length..], body, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, _app.AllLogText(), StringComparison.Ordinal);
        Assert.Contains("does not match", await ErrorOf(response), StringComparison.Ordinal);
        Assert.Empty(await StoredAsync());
    }

    [Fact]
    public async Task TamperedBody_401()
    {
        using var request = Delivery("push", Push);
        var tampered = (byte[])Push.Clone();
        tampered[100] ^= 1;
        request.Content = new ByteArrayContent(tampered);
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task SignatureIsCheckedBeforeTheEventIsLookedAt_UnknownEventWithBadSignature401()
    {
        using var request = Delivery("made_up_event", Push, secret: "wrong");
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task GitHubsVector_PassesTheSignatureCheck_ThenFailsAsNotJson()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = "It's a Secret to Everybody",
            ["Webhooks:RunWorker"] = "false",
        });
        using var client = app.CreateClient();
        using var request = WebhookFixtures.Delivery(Path, "push", "Hello, World!"u8.ToArray(), secret: null);
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // not 401: the signature was accepted
        Assert.Contains("not a JSON object", await ErrorOf(response), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1,2,3]")]
    [InlineData("\"a string\"")]
    [InlineData("{\"truncated\": ")]
    public async Task NotAJsonObject_400(string json)
    {
        using var request = Delivery("push", Encoding.UTF8.GetBytes(json));
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Sha1Only_IsAccepted_WhenSha256IsNotRequired()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:RunWorker"] = "false",
            ["Webhooks:RequireSha256"] = "false",
        });
        using var client = app.CreateClient();
        using var request = Delivery("push", Push);
        request.Headers.Remove("X-Hub-Signature-256");
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Accepted_202_OnlyAfterTheDeliveryIsCommitted_WithItsFacts()
    {
        using var request = Delivery("push", Push, id: "f3a6c0e0-0000-4000-8000-000000000001");
        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("f3a6c0e0-0000-4000-8000-000000000001", answer.GetProperty("delivery").GetString());
        Assert.Equal("queued", answer.GetProperty("status").GetString());

        var row = Assert.Single(await StoredAsync());
        Assert.Equal("push", row.Event);
        Assert.Equal(Push, row.Body);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Push)), row.BodySha256);
        Assert.Equal(DeliveryState.Pending, row.State);
        Assert.Equal(292430182, row.HookId);
        Assert.NotNull(row.HeadersJson);
        Assert.Contains("X-GitHub-Hook-Installation-Target-ID", row.HeadersJson, StringComparison.Ordinal);
        Assert.DoesNotContain("Signature", row.HeadersJson, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task UnknownEvent_IsStillStored_202()
    {
        using var request = Delivery("brand_new_event", "{\"action\":\"happened\"}"u8.ToArray());
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var row = Assert.Single(await StoredAsync());
        Assert.Equal("brand_new_event", row.Event);
        Assert.Equal("happened", row.Action);
    }

    [Fact]
    public async Task SameDeliveryTwice_200_StoredOnce()
    {
        using var first = Delivery("push", Push, id: "dup-1");
        using var second = Delivery("push", Push, id: "dup-1");
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(first)).StatusCode);
        var again = await _client.SendAsync(second);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("duplicate", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
        Assert.Single(await StoredAsync());
    }

    [Fact]
    public async Task NoDeliveryHeader_TheBodyHashIsTheId_SoARetryIsADuplicate()
    {
        using var first = Delivery("push", Push);
        first.Headers.Remove("X-GitHub-Delivery");
        using var second = Delivery("push", Push);
        second.Headers.Remove("X-GitHub-Delivery");

        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(first)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(second)).StatusCode);
        var row = Assert.Single(await StoredAsync());
        Assert.Equal(row.BodySha256, row.DeliveryId);
    }

    [Fact]
    public async Task SentryAlias_WorksWithAndWithoutTheTrailingSlash()
    {
        using var a = Delivery("push", Push, id: "alias-1", path: "/extensions/github/webhook/");
        using var b = Delivery("push", Push, id: "alias-2", path: "/extensions/github/webhook");
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(a)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(b)).StatusCode);
    }

    [Fact]
    public async Task EveryFixture_SignedAndAccepted_WithItsEventAndAction()
    {
        var fixtures = WebhookFixtures.All();
        Assert.True(fixtures.Count >= 50, $"{fixtures.Count} fixtures");
        foreach (var fixture in fixtures)
        {
            using var request = Delivery(fixture.Event, fixture.Body);
            var response = await _client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{fixture}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var stored = await StoredAsync();
        Assert.Equal(fixtures.Count, stored.Count);
        Assert.All(stored.Zip(fixtures), pair =>
        {
            Assert.Equal(pair.Second.Event, pair.First.Event);
            Assert.Equal(pair.Second.Body, pair.First.Body);
        });
        Assert.Contains(stored, d => d.Event == "pull_request" && d.Action == "opened" && d.RepositoryId is not null);
        Assert.Contains(stored, d => d.Event == "installation" && d.Action == "created" && d.InstallationId is not null);
    }

    [Fact]
    public async Task TwoHundredConcurrentDeliveries_AllStored()
    {
        var ids = Enumerable.Range(0, 200).Select(i => $"burst-{i:D3}").ToList();
        var responses = await Task.WhenAll(ids.Select(async id =>
        {
            using var request = Delivery("push", Push, id: id);
            return (await _client.SendAsync(request)).StatusCode;
        }));

        Assert.All(responses, s => Assert.Equal(HttpStatusCode.Accepted, s));
        Assert.Equal(ids, (await StoredAsync()).Select(d => d.DeliveryId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Rotation_OldAndNewSecretsBothAccepted()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = "new-secret",
            ["GitHub:AdditionalWebhookSecrets:0"] = "old-secret",
            ["Webhooks:RunWorker"] = "false",
        });
        using var client = app.CreateClient();
        using var withNew = WebhookFixtures.Delivery(Path, "push", Push, "new-secret");
        using var withOld = WebhookFixtures.Delivery(Path, "push", Push, "old-secret");
        using var withRetired = WebhookFixtures.Delivery(Path, "push", Push, "retired-secret");

        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(withNew)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(withOld)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(withRetired)).StatusCode);
    }

    [Fact]
    public async Task SecretChange_TakesEffectWithoutARestart()
    {
        using var before = Delivery("push", Push, secret: "rotated-in");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(before)).StatusCode);

        var configuration = (IConfigurationRoot)_app.Services.GetRequiredService<IConfiguration>();
        configuration["GitHub:WebhookSecret"] = "rotated-in";
        configuration.Reload();

        using var after = Delivery("push", Push, secret: "rotated-in");
        Assert.Equal(HttpStatusCode.Accepted, (await _client.SendAsync(after)).StatusCode);
        using var old = Delivery("push", Push, secret: Secret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(old)).StatusCode);
    }

    [Fact]
    public async Task RepeatedSignatureHeader_400()
    {
        using var request = Delivery("push", Push);
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookFixtures.SignSha256(Push, "other"));
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task OverlongDeliveryId_400()
    {
        using var request = Delivery("push", Push, id: new string('a', 129));
        var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
