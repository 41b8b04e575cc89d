using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Cli;

/// <summary><c>hubgate token ID --repository R --permission P</c> prints a down-scoped token; <c>hubgate audit</c> lists every token printed.</summary>
public sealed class TokenCommandTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-cli-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddRepository(1, 100, "acme", "api");
        _gitHub.AddRepository(1, 101, "acme", "web");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TestDatabase.Delete(_directory);
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        var settings = TestDatabase.Settings(_directory);
        settings["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem;
        settings["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri;
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(args, settings, new InvocationConfiguration { Output = output, Error = error });
        TestSecrets.AssertNoneIn([("an error message", error.ToString())], []);
        return (exit, output.ToString(), error.ToString());
    }

    private async Task<HttpStatusCode> GetWith(string token, string path)
    {
        using var http = new HttpClient { BaseAddress = _gitHub.ApiBaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
        request.Headers.UserAgent.ParseAdd("hubgate-tests");
        return (await http.SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task ScopedToken_ReachesOnlyItsRepository_IsMintedOnce_AndAudited()
    {
        var (exit, output, _) = await RunAsync("token", "1", "--repository", "acme/api", "--permission", "contents:read");
        var again = await RunAsync("token", "1", "--permission", "contents:read", "--repository", "API");
        var audit = await RunAsync("audit", "--json");

        Assert.Equal(0, exit);
        var token = output.Trim();
        Assert.Equal(token, again.Output.Trim());
        Assert.Equal("{\"repositories\":[\"api\"],\"permissions\":{\"contents\":\"read\"}}", Assert.Single(_gitHub.Mints).Body);
        Assert.Equal(HttpStatusCode.OK, await GetWith(token, "repos/acme/api"));
        Assert.Equal(HttpStatusCode.NotFound, await GetWith(token, "repos/acme/web"));
        var vends = JsonDocument.Parse(audit.Output).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, vends.Count);
        Assert.All(vends, v => Assert.Equal("cli", v.GetProperty("client").GetString()));
        Assert.All(vends, v => Assert.Equal("repositories=api;repository_ids=;permissions=contents:read", v.GetProperty("scope").GetString()));
        Assert.DoesNotContain(token, audit.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PermissionGitHubRefuses_Exit1_NamingIt()
    {
        var (exit, output, error) = await RunAsync("token", "1", "--permission", "administration:write");

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Contains("administration:write", error, StringComparison.Ordinal);
        Assert.Contains("The permissions requested are not granted to this installation.", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedPermission_Exit2_BeforeAnyMint()
    {
        var (exit, _, error) = await RunAsync("token", "1", "--permission", "contents");

        Assert.Equal(2, exit);
        Assert.Contains("name:level", error, StringComparison.Ordinal);
        Assert.Empty(_gitHub.Mints);
    }
}
