using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// Property-based bad input at the webhook endpoint (CsCheck): 5,000 generated requests — random, truncated and
/// non-UTF-8 bodies, deep nesting, wrong JSON types where the handlers expect others, huge headers, missing, repeated,
/// conflicting, wrong-algorithm and wrong-length signatures, duplicate and overlong delivery ids. For each the answer is
/// never a 5xx and, where the request's validity is known, the answer class is the right one; afterwards every accepted
/// delivery is stored exactly once, the handlers have run on what was accepted without stopping the worker, and the
/// server still takes and processes a valid delivery.
/// </summary>
public sealed class WebhookFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "fuzz-webhook-secret";
    private const int Requests = 5000;
    private static readonly WebhookFixture[] Fixtures = [.. WebhookFixtures.All()];
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat", accountType: "User");
        _gitHub.AddRepository(1, 186853002, "Codertocat", "Hello-World", defaultBranch: "master");
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    /// <summary>What the answer must be, when the generator knows.</summary>
    private enum Expect
    {
        Accept, // 202, or 200 if the id was accepted before
        Reject, // 4xx
        Any, // anything but a 5xx
    }

    private enum Signature
    {
        Valid256,
        ValidSha1Only,
        Valid256WithWrongSha1,
        Uppercase,
        Missing,
        Repeated,
        WrongAlgorithm,
        WrongLength,
        NoAlgorithm,
        NotHex,
        WrongSecret,
    }

    private sealed record Case(string Kind, byte[] Body, Expect BodyExpect, string? Event, string? DeliveryId, Signature Signature, int ExtraHeaderBytes)
    {
        public override string ToString() =>
            $"{Kind} body={Body.Length}B event={Event?[..Math.Min(Event.Length, 20)]} id={DeliveryId?[..Math.Min(DeliveryId.Length, 20)]} sig={Signature} extra={ExtraHeaderBytes}";
    }

    private static readonly Gen<(string Kind, byte[] Body, Expect Expect)> Bodies = Gen.Frequency(
        (3, Gen.Int[0, Fixtures.Length - 1].Select(i => ("fixture", Fixtures[i].Body, Expect.Accept))),
        (4, Gen.Select(Gen.Int[0, Fixtures.Length - 1], Gen.Int, Gen.Int[1, 6]).Select((i, seed, n) => ("wrong-types", Mutate(Fixtures[i].Body, seed, n), Expect.Accept))),
        (2, Gen.Byte.Array[0, 600].Select(b => ("random-bytes", b, IsJsonObject(b) ? Expect.Accept : Expect.Reject))),
        (2, Gen.Select(Gen.Int[0, Fixtures.Length - 1], Gen.Double[0, 1]).Select((i, cut) =>
        {
            var body = Fixtures[i].Body[..(int)(Fixtures[i].Body.Length * cut)];
            return ("truncated", body, IsJsonObject(body) ? Expect.Accept : Expect.Reject);
        })),
        (1, Gen.Byte[0x80, 0xFF].Array[1, 8].Select(b => ("invalid-utf8", (byte[])[.. "{\"zen\":\""u8, .. b, .. "\"}"u8], Expect.Any))),
        (1, Gen.Select(Gen.Int[1, 3000], Gen.Bool).Select((depth, objects) => ("deep-nesting", Nested(depth, objects), Expect.Any))),
        (1, Gen.OneOf<byte[]>("[]"u8.ToArray(), "null"u8.ToArray(), "42"u8.ToArray(), "\"a string\""u8.ToArray(), "[{}]"u8.ToArray(), [], " "u8.ToArray())
            .Select(b => ("not-an-object", b, Expect.Reject))));

    private static readonly Gen<(string? Event, Expect Expect)> Events = Gen.Frequency(
        (8, Gen.OneOf("push", "pull_request", "installation", "installation_repositories", "repository", "ping").Select(e => ((string?)e, Expect.Accept))),
        (2, Gen.String[Gen.Char.AlphaNumeric, 1, 30].Select(e => ((string?)e, Expect.Accept))), // unknown events are kept
        (1, Gen.OneOf<string?>(null, "").Select(e => (e, Expect.Reject))),
        (1, Gen.Int[1_000, 16_000].Select(n => ((string?)new string('e', n), Expect.Any))));

    private static readonly Gen<string?> DeliveryIds = Gen.Frequency(
        (12, Gen.Guid.Select(g => (string?)g.ToString())),
        (3, Gen.Int[0, 40].Select(i => (string?)$"repeat-{i}")), // the same id more than once: accepted once
        (1, Gen.Const((string?)null)), // no header: the body's hash is the id
        (1, Gen.Int[129, 4000].Select(n => (string?)new string('d', n)))); // overlong: refused

    private static readonly Gen<Case> Cases = Gen.Select(Bodies, Events, DeliveryIds, Gen.Enum<Signature>(), Gen.Frequency((9, Gen.Const(0)), (1, Gen.Int[1_000, 30_000])))
        .Select((body, @event, id, signature, extra) => new Case(body.Kind, body.Body, Combine(body.Expect, @event.Expect), @event.Event, id, signature, extra));

    private static Expect Combine(Expect a, Expect b) => a == Expect.Reject || b == Expect.Reject ? Expect.Reject : a == Expect.Any || b == Expect.Any ? Expect.Any : Expect.Accept;

    private static bool IsJsonObject(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static byte[] Nested(int depth, bool objects)
    {
        var open = objects ? "{\"a\":" : "[";
        var close = objects ? "}" : "]";
        var inner = objects ? "1" : "";
        return Encoding.UTF8.GetBytes("{\"x\":" + string.Concat(Enumerable.Repeat(open, depth)) + inner + string.Concat(Enumerable.Repeat(close, depth)) + "}");
    }

    /// <summary>A real payload with <paramref name="count"/> of its values replaced by values of other types.</summary>
    private static byte[] Mutate(byte[] fixture, int seed, int count)
    {
        var random = new Random(seed);
        var root = JsonNode.Parse(fixture)!;
        var slots = new List<(JsonNode Parent, object Key)>();
        void Walk(JsonNode node, int depth)
        {
            if (depth > 6)
            {
                return;
            }

            switch (node)
            {
                case JsonObject o:
                    foreach (var (key, child) in o.ToList())
                    {
                        slots.Add((o, key));
                        if (child is not null)
                        {
                            Walk(child, depth + 1);
                        }
                    }

                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++)
                    {
                        slots.Add((a, i));
                        if (a[i] is { } child)
                        {
                            Walk(child, depth + 1);
                        }
                    }

                    break;
            }
        }

        Walk(root, 0);
        JsonNode?[] replacements =
        [
            null, "x", "", 0, -1, long.MaxValue, 1e308, true, false, new JsonArray(), new JsonObject(), new JsonArray(1, "two", null),
            "2026-13-45T99:99:99Z", "not-a-sha", JsonValue.Create(decimal.MaxValue), new JsonObject { ["id"] = "string-id" },
        ];
        for (var i = 0; i < count && slots.Count > 0; i++)
        {
            var (parent, key) = slots[random.Next(slots.Count)];
            var value = replacements[random.Next(replacements.Length)]?.DeepClone();
            try
            {
                if (parent is JsonObject o && key is string k)
                {
                    o[k] = value;
                }
                else if (parent is JsonArray a && key is int index && index < a.Count)
                {
                    a[index] = value;
                }
            }
            catch (InvalidOperationException)
            {
                // The slot was inside a value replaced earlier: skip it.
            }
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static (HttpRequestMessage Request, Expect Expect) Build(Case c)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/webhooks/github", UriKind.Relative)) { Content = new ByteArrayContent(c.Body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (c.Event is not null)
        {
            request.Headers.TryAddWithoutValidation("X-GitHub-Event", c.Event);
        }

        if (c.DeliveryId is not null)
        {
            request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", c.DeliveryId);
        }

        if (c.ExtraHeaderBytes > 0)
        {
            request.Headers.TryAddWithoutValidation("X-Fuzz-Padding", new string('p', c.ExtraHeaderBytes));
        }

        var good256 = WebhookFixtures.SignSha256(c.Body, Secret);
        var signatureExpect = Expect.Accept;
        switch (c.Signature)
        {
            case Signature.Valid256:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", good256);
                break;
            case Signature.ValidSha1Only:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature", WebhookFixtures.SignSha1(c.Body, Secret));
                break;
            case Signature.Valid256WithWrongSha1: // SHA-256 is preferred; the legacy header is not consulted
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", good256);
                request.Headers.TryAddWithoutValidation("X-Hub-Signature", WebhookFixtures.SignSha1(c.Body, "other"));
                break;
            case Signature.Uppercase:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + good256[7..].ToUpperInvariant());
                signatureExpect = Expect.Any;
                break;
            case Signature.Missing:
                signatureExpect = Expect.Reject;
                break;
            case Signature.Repeated:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", good256);
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookFixtures.SignSha256(c.Body, "other"));
                signatureExpect = Expect.Reject;
                break;
            case Signature.WrongAlgorithm:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha512=" + good256[7..]);
                signatureExpect = Expect.Reject;
                break;
            case Signature.WrongLength:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", good256[..^2]);
                signatureExpect = Expect.Reject;
                break;
            case Signature.NoAlgorithm:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", good256[7..]);
                signatureExpect = Expect.Reject;
                break;
            case Signature.NotHex:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + new string('z', 64));
                signatureExpect = Expect.Reject;
                break;
            case Signature.WrongSecret:
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookFixtures.SignSha256(c.Body, "not-the-secret"));
                signatureExpect = Expect.Reject;
                break;
        }

        var idExpect = c.DeliveryId is { Length: > 128 } ? Expect.Reject : Expect.Accept;
        return (request, Combine(Combine(c.BodyExpect, signatureExpect), idExpect));
    }

    [Fact]
    public async Task FiveThousandGeneratedRequests_NeverA5xx_RightAnswerClass_AcceptedStoredOnce_ServerStillWorks()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["GitHub:WebhookSecret"] = Secret,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:PollInterval"] = "00:00:00.050",
            ["Webhooks:MaxAttempts"] = "1", // a payload a handler cannot use goes dead at once instead of being retried for minutes
        });
        using var client = app.CreateClient();
        var accepted = new Dictionary<string, int>(StringComparer.Ordinal);
        var answers = new Dictionary<int, int>();
        var tried = 0;

        await Cases.SampleAsync(async c =>
        {
            var (request, expect) = Build(c);
            using (request)
            {
                using var response = await client.SendAsync(request);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsStringAsync();
                tried++;
                answers[status] = answers.GetValueOrDefault(status) + 1;
                Assert.True(status < 500, $"{status} for {c}: {body}");
                Assert.DoesNotContain(Secret, body, StringComparison.Ordinal);
                var id = c.DeliveryId ?? Convert.ToHexStringLower(SHA256.HashData(c.Body));
                switch (expect)
                {
                    case Expect.Accept:
                        Assert.True(status == 202 || (status == 200 && accepted.ContainsKey(id)), $"expected 202 (or 200 for a repeated id), got {status} for {c}: {body}");
                        break;
                    case Expect.Reject:
                        Assert.True(status is >= 400 and < 500, $"expected 4xx, got {status} for {c}: {body}");
                        break;
                }

                if (status == 202)
                {
                    Assert.False(accepted.ContainsKey(id), $"{id} accepted twice");
                    accepted[id] = 1;
                }
            }
        }, iter: Requests, threads: 1);

        Assert.True(tried >= Requests, $"{tried} requests");

        // The server is healthy and still does its job: a valid delivery is accepted and processed.
        using (var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        using (var valid = WebhookFixtures.Delivery("/webhooks/github", "ping", WebhookFixtures.Load("ping", "payload.json"), Secret, "after-the-fuzz"))
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(valid)).StatusCode);
        }

        var contexts = app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        Dictionary<DeliveryState, int> states = [];
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(120); await Task.Delay(200))
        {
            await using var db = await contexts.CreateDbContextAsync();
            // Grouped here, not in SQL: EF Core groups the view's CASE (no row yet → pending) wrongly, as one key.
            states = (await db.LocalDeliveries().Select(d => d.State).ToListAsync()).GroupBy(state => state).ToDictionary(g => g.Key, g => g.Count());
            if (!states.ContainsKey(DeliveryState.Pending) && !states.ContainsKey(DeliveryState.Processing) && !states.ContainsKey(DeliveryState.Failed)
                && await db.LocalDeliveries().AnyAsync(d => d.DeliveryId == "after-the-fuzz" && d.State == DeliveryState.Processed))
            {
                break;
            }
        }

        await using (var db = await contexts.CreateDbContextAsync())
        {
            var stored = await db.WebhookDeliveries.Where(d => d.DeliveryId != "after-the-fuzz").Select(d => d.DeliveryId).ToListAsync();
            Assert.Equal(accepted.Keys.Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
            Assert.Equal(DeliveryState.Processed, (await db.LocalDeliveries().SingleAsync(d => d.DeliveryId == "after-the-fuzz")).State);
        }

        output.WriteLine($"requests {tried}; answers {string.Join(", ", answers.OrderBy(a => a.Key).Select(a => $"{a.Key}×{a.Value}"))}; " +
                         $"stored {accepted.Count}; states {string.Join(", ", states.Select(s => $"{s.Key}={s.Value}"))}");
    }
}
