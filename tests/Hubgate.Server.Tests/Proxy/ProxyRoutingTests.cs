using System.Globalization;
using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Proxy;

/// <summary>
/// What the proxy forwards is what its router matched, whatever the encoding of the request target: the real server on
/// Kestrel (which keeps the target as sent), spoken to over a raw socket, in front of the fake GitHub.
/// </summary>
public sealed class ProxyRoutingTests : IAsyncLifetime, IDisposable
{
    private const string ApiKey = "proxy-routing-key-51c2";
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;
    private Uri _server = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "Codertocat");
        _gitHub.AddRepository(1, 100, "Codertocat", "Hello-World");
        _gitHub.AddInstallation(2, "acme");
        _gitHub.AddRepository(2, 200, "acme", "api");
        _app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
        });
        _app.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _app.StartServer();
        using var client = _app.CreateClient();
        _server = client.BaseAddress!;
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    private Task<RawHttp.Answer> Get(string target) => RawHttp.SendAsync(_server, "GET", target, ApiKey);

    [Fact]
    public async Task EncodedPrefix_WithThePrefixInTheQuery_ForwardsTheRoutedRepositoryRead_NotTheApp()
    {
        var answer = await Get("/proxy/%69nstallations/1/repos/Codertocat/Hello-World?x=/proxy/installations/1/app");

        Assert.Equal(200, answer.Status);
        var seen = Assert.Single(_gitHub.Requests, r => !r.Path.EndsWith("/access_tokens", StringComparison.Ordinal));
        Assert.Equal("/repos/Codertocat/Hello-World", seen.Path);
        Assert.Equal("?x=/proxy/installations/1/app", seen.Query);
        Assert.Equal(FakeCredential.InstallationToken, seen.Credential);
        Assert.Equal(1, seen.InstallationId);
    }

    [Fact]
    public async Task AccessLogAndMetrics_ShowThePathThatWasSent()
    {
        await Get("/proxy/%69nstallations/1/repos/Codertocat/Hello-World?x=/proxy/installations/1/app");

        var logged = Assert.Single(_app.Logs.GetSnapshot(), r => r.Id.Id == 411);
        Assert.Contains(logged.StructuredState!, kv => kv.Key == "Path" && kv.Value == "/repos/Codertocat/Hello-World");
        using var client = _app.CreateClient();
        var metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("installation=\"1\",method=\"GET\",route=\"/repos/{owner}/{repo}\",status=\"200\"", metrics, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/proxy/installations/%31/repos/Codertocat/Hello-World")]
    [InlineData("/proxy/%69%6E%73tallations/1/repos/Codertocat/Hello-World")]
    [InlineData("/%70roxy/installations/1/repos/Codertocat/Hello-World?next=/proxy/installations/2/repos/acme/api")]
    [InlineData("/proxy/installations/1/repos/Codertocat/Hello%2DWorld")]
    public async Task UnreservedCharactersEncoded_RouteAndForwardTheSame(string target)
    {
        var answer = await Get(target);

        Assert.Equal(200, answer.Status);
        var seen = Assert.Single(_gitHub.Requests, r => !r.Path.EndsWith("/access_tokens", StringComparison.Ordinal));
        Assert.Equal("/repos/Codertocat/Hello-World", seen.Path);
        Assert.Equal(1, seen.InstallationId);
    }

    [Theory]
    [InlineData("/proxy/installations/1/repos%2FCodertocat%2FHello-World")] // encoded slash in the tail
    [InlineData("/proxy/installations/1/repos/Codertocat/%2548ello-World")] // double encoding in the tail
    [InlineData("/proxy/app/../installations/1/repos/Codertocat/Hello-World")] // routed as installation 1, sent from elsewhere
    [InlineData("/proxy/installations/2/../1/repos/Codertocat/Hello-World")] // routed as installation 1, prefix names 2
    [InlineData("/proxy/x/../installations/1/repos/Codertocat/Hello-World")]
    [InlineData("/proxy/installations/1/repos/Codertocat/Hello-World/../../../app")]
    [InlineData("/proxy/installations/1/repos/%2e%2e/app")]
    public async Task TargetsWhereRoutedAndSentCouldDiffer_Are400_AndNothingReachesGitHub(string target)
    {
        var answer = await Get(target);

        Assert.Equal(400, answer.Status);
        Assert.Contains("Refused proxy path", answer.Text, StringComparison.Ordinal);
        Assert.Empty(_gitHub.Requests);
    }

    [Theory]
    [InlineData("/proxy%2Finstallations/1/repos/Codertocat/Hello-World")]
    [InlineData("/proxy/%2569nstallations/1/repos/Codertocat/Hello-World")]
    public async Task EncodingsThatDoNotRouteAsTheProxy_AreNotForwarded(string target)
    {
        var answer = await Get(target);

        Assert.InRange(answer.Status, 400, 404);
        Assert.Empty(_gitHub.Requests);
    }
}
