using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hubgate.Tests.Fake;

/// <summary>
/// The package's own API, as a user's tests call it: route faults that answer as GitHub does, and deliveries signed
/// so that Hubgate's independent signature check accepts them.
/// </summary>
public sealed class FakeGitHubPublicApiTests : IAsyncLifetime
{
    private readonly FakeCalls _calls = new();
    private FakeGitHubServer _gitHub = null!;
    private string _token = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddRepository(1, 100, "acme", "widgets");
        _token = await _calls.MintAsync(_gitHub, 1, FakeCalls.JwtOf(_gitHub, _gitHub.PrimaryApp));
    }

    public async Task DisposeAsync() => await _gitHub.DisposeAsync();

    private Uri Api(string path) => new(_gitHub.ApiBaseUrl, path);

    [Fact]
    public async Task FailNext_AnswersTheNextRequestsOfTheRoute_ThenTheRealAnswer_AndLeavesOtherRoutesAlone()
    {
        _gitHub.FailNext("GET", "/repos/acme/*", FakeFailure.BadGateway, times: 2);

        var first = await _calls.GetAsync(Api("repos/acme/widgets"), _token);
        var other = await _calls.GetAsync(Api("installation/repositories"), _token);
        var second = await _calls.GetAsync(Api("repos/acme/widgets"), _token);
        var third = await _calls.GetAsync(Api("repos/acme/widgets"), _token);

        Assert.Equal(HttpStatusCode.BadGateway, first.Status);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal(HttpStatusCode.BadGateway, second.Status);
        Assert.Equal(HttpStatusCode.OK, third.Status);
        Assert.Equal("acme/widgets", third.Body.GetProperty("full_name").GetString());
        Assert.Equal([502, 200, 502, 200], _gitHub.Requests.Where(r => r.Method == "GET").Select(r => r.Status));
        Assert.All(_gitHub.Requests.Where(r => r.Method == "GET"), r => Assert.Equal(FakeCredential.InstallationToken, r.Credential));
    }

    [Fact]
    public async Task FailNext_RateLimited_AnswersAsGitHubDoesWhenTheLimitIsSpent()
    {
        _gitHub.FailNext(null, "/repos/**", FakeFailure.RateLimited);

        var (status, body, response) = await _calls.GetAsync(Api("repos/acme/widgets"), _token);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("API rate limit exceeded for installation ID 1.", body.GetProperty("message").GetString());
        Assert.Equal("0", response.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal("core", response.Headers.GetValues("X-RateLimit-Resource").Single());
        var reset = DateTimeOffset.FromUnixTimeSeconds(long.Parse(response.Headers.GetValues("X-RateLimit-Reset").Single(), CultureInfo.InvariantCulture));
        Assert.True(reset > DateTimeOffset.UtcNow, $"The reset {reset:u} should be ahead.");
        Assert.Equal(HttpStatusCode.OK, (await _calls.GetAsync(Api("repos/acme/widgets"), _token)).Status);
    }

    [Fact]
    public async Task FailNext_BadCredentials_Refuses_EvenAValidToken_Once()
    {
        _gitHub.FailNext("GET", "/installation/repositories", FakeFailure.BadCredentials);

        var refused = await _calls.GetAsync(Api("installation/repositories"), _token);
        var accepted = await _calls.GetAsync(Api("installation/repositories"), _token);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
        Assert.Equal("Bad credentials", refused.Body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, accepted.Status);
    }

    [Fact]
    public async Task SendDeliveryAsync_SignsThePayloadWithTheAppsSecret_AsHubgatesCheckVerifiesIt()
    {
        var received = new TaskCompletionSource<(Dictionary<string, string> Headers, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.TrySetResult((context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray()));
            return Results.Accepted();
        });
        await receiver.StartAsync();
        var payload = _gitHub.InstallationCreatedPayload(1);

        var sent = await _gitHub.SendDeliveryAsync(new Uri(new Uri(receiver.Urls.First()), "/hook"), "installation", payload);

        Assert.Equal(202, sent.StatusCode);
        var (headers, bytes) = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(payload, bytes);
        Assert.Equal("installation", headers["X-GitHub-Event"]);
        Assert.Equal(sent.DeliveryId, headers["X-GitHub-Delivery"]);
        Assert.Equal(_gitHub.PrimaryApp.Id.ToString(CultureInfo.InvariantCulture), headers["X-GitHub-Hook-Installation-Target-ID"]);
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(bytes, headers["X-Hub-Signature-256"], headers["X-Hub-Signature"], [_gitHub.PrimaryApp.WebhookSecret]));
        Assert.NotEqual(SignatureCheck.Valid, WebhookSignature.Verify(bytes, headers["X-Hub-Signature-256"], headers["X-Hub-Signature"], ["another secret"]));
    }
}
