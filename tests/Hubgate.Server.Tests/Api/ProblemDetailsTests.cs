using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Problems;
using Hubgate.Server.Tests.Access;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Api;

/// <summary>
/// Every error Hubgate itself answers — management API, keys and policies, proxy, webhook receiver — is an RFC 9457
/// <c>application/problem+json</c> document: the kind's <c>type</c> URI and title, <c>status</c> equal to the HTTP
/// status, the detail (also as the legacy <c>error</c> member), and never a secret.
/// </summary>
public sealed class ProblemDetailsTests : IDisposable
{
    private const string AdminKey = "problems-admin-key-4f1e";
    private const string ViewerKey = "problems-viewer-key-2b7c";
    private const string WrongKey = "problems-wrong-key-9a03";
    private const string Secret = "problems-webhook-secret-c5d8";
    private const long AppId = 4242;
    private readonly HubgateApplication _app;

    public ProblemDetailsTests()
    {
        TestSecrets.Register(AdminKey, "the admin key");
        TestSecrets.Register(ViewerKey, "a client's key");
        TestSecrets.Register(WrongKey, "a presented wrong key");
        TestSecrets.Register(Secret, "a webhook secret");
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = AdminKey,
            ["Hubgate:Clients:viewer:Key"] = ViewerKey,
            ["Hubgate:FailedKeyLimitPerMinute"] = "1",
            ["GitHub:AppId"] = "4242",
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:RunWorker"] = "false",
        });
    }

    public void Dispose() => _app.Dispose();

    [Theory]
    [InlineData("/api/deliveries?state=bogus", "invalid-request", "Unknown state 'bogus'")]
    [InlineData("/api/installations/987654", "not-found", "No installation 987654")]
    [InlineData("/proxy/apps/nope/installations/1/repos/acme/api", "unknown-app", "'nope'")]
    [InlineData("/proxy/installations/1/repos/acme/api", "app-not-configured", "GitHub:PrivateKey")]
    public async Task ApiAndProxyErrors_AreProblemsOfTheirKind_WithTodaysMessage(string path, string kind, string inDetail)
    {
        var problem = await GetProblemAsync(AdminKey, path, HubgateProblems.All.Single(k => k.Name == kind));
        Assert.Contains(inDetail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApiConflict_IsConflictProblem()
    {
        using var client = _app.Client(AdminKey);
        using var body = new StringContent("""{"name":"viewer"}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri("/api/clients", UriKind.Relative), body);
        await AssertProblemAsync(response, HubgateProblems.Conflict);
    }

    [Fact]
    public async Task WrongKey_Is401InvalidKeyProblem_ThenPastTheLimit429WithRetryAfter()
    {
        using var client = _app.Client(WrongKey);
        using var first = await client.GetAsync(new Uri("/api/installations", UriKind.Relative));
        await AssertProblemAsync(first, HubgateProblems.InvalidKey);
        Assert.Equal("Bearer", first.Headers.WwwAuthenticate.Single().Scheme);

        using var second = await client.GetAsync(new Uri("/api/installations", UriKind.Relative));
        var problem = await AssertProblemAsync(second, HubgateProblems.TooManyFailedKeys);
        var retryAfter = second.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.Equal((int)retryAfter.Value.TotalSeconds, problem.GetProperty("retryAfter").GetInt32());
    }

    [Fact]
    public async Task ClientWithoutTheAdminRight_Is403AccessRefusedProblem_NamingTheRule()
    {
        var problem = await GetProblemAsync(ViewerKey, "/api/installations", HubgateProblems.AccessRefused);
        Assert.Equal("admin", problem.GetProperty("rule").GetString());
        Assert.Contains("Hubgate:Clients:viewer:Admin", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookWithTheWrongSecret_Is401SignatureMismatchProblem()
    {
        await DeliverAsync("/webhooks/github", "not-the-secret-0000", HubgateProblems.WebhookSignatureMismatch);
    }

    [Fact]
    public async Task WebhookForAnotherApp_Is403WrongAppProblem()
    {
        await DeliverAsync("/webhooks/github", Secret, HubgateProblems.WebhookWrongApp, appId: AppId + 1);
    }

    [Fact]
    public async Task WebhookForAnUnknownApp_Is404UnknownAppProblem()
    {
        await DeliverAsync("/webhooks/github/nope", Secret, HubgateProblems.UnknownApp);
    }

    [Fact]
    public async Task WebhookUnsignedOrNotJson_Is400Problem()
    {
        await DeliverAsync("/webhooks/github", secret: null, HubgateProblems.WebhookSignatureInvalid);
        await DeliverAsync("/webhooks/github", Secret, HubgateProblems.WebhookInvalid, body: "[1, 2]");
    }

    [Fact]
    public async Task WebhookDeclaredLargerThanGitHubsCap_Is413TooLargeProblem()
    {
        var context = await _app.Server.SendAsync(c =>
        {
            c.Request.Method = "POST";
            c.Request.Path = "/webhooks/github";
            c.Request.Headers["X-GitHub-Event"] = "ping";
            c.Request.Headers["X-GitHub-Delivery"] = "too-large-1";
            c.Request.ContentType = "application/json";
            c.Request.ContentLength = (25L * 1024 * 1024) + 1;
            c.Request.Body = new MemoryStream("{}"u8.ToArray());
        });
        Assert.Equal(413, context.Response.StatusCode);
        Assert.Equal(HubgateProblems.ContentType, context.Response.ContentType);
        using var reader = new StreamReader(context.Response.Body);
        AssertProblemBody(await reader.ReadToEndAsync(), 413, HubgateProblems.WebhookTooLarge);
    }

    [Fact]
    public void EveryKind_HasItsOwnTypeUnderTheBase_AndAStatusItIsAnsweredWith()
    {
        Assert.Equal(HubgateProblems.All.Count, HubgateProblems.All.Select(k => k.Type).Distinct(StringComparer.Ordinal).Count());
        Assert.All(HubgateProblems.All, kind =>
        {
            Assert.StartsWith(HubgateProblems.BaseUri, kind.Type, StringComparison.Ordinal);
            Assert.True(Uri.IsWellFormedUriString(kind.Type, UriKind.Absolute), kind.Type);
            Assert.InRange(kind.Status, 400, 599);
        });
    }

    [Fact]
    public void TheApiPage_ListsEveryKind_WithItsStatus()
    {
        var page = File.ReadAllText(Path.Combine(Checkout.Root, "docs", "api.md"));
        Assert.All(HubgateProblems.All, kind =>
            Assert.Contains($"| `{kind.Name}` | {kind.Status} |", page, StringComparison.Ordinal));
    }

    private async Task<JsonElement> GetProblemAsync(string key, string path, ProblemKind kind)
    {
        using var client = _app.Client(key);
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return await AssertProblemAsync(response, kind);
    }

    private async Task DeliverAsync(string path, string? secret, ProblemKind kind, long? appId = AppId, string body = """{"zen":"x"}""")
    {
        using var client = _app.CreateClient();
        using var request = WebhookFixtures.Delivery(path, "ping", Encoding.UTF8.GetBytes(body), secret, appId: appId);
        using var response = await client.SendAsync(request);
        await AssertProblemAsync(response, kind);
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, ProblemKind kind)
    {
        Assert.Equal(kind.Status, (int)response.StatusCode);
        Assert.Equal(HubgateProblems.ContentType, response.Content.Headers.ContentType?.MediaType);
        return AssertProblemBody(await response.Content.ReadAsStringAsync(), (int)response.StatusCode, kind);
    }

    private static JsonElement AssertProblemBody(string body, int status, ProblemKind kind)
    {
        Assert.Empty(TestSecrets.FindIn(body));
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(kind.Type, problem.GetProperty("type").GetString());
        Assert.Equal(kind.Title, problem.GetProperty("title").GetString());
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        var detail = problem.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.Equal(detail, problem.GetProperty("error").GetString()); // kept for one release for clients of {"error": …}
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("traceId").GetString()));
        return problem;
    }
}
