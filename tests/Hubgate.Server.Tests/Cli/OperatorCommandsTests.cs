using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Cli;

/// <summary>
/// The operator commands against the fake GitHub and a real database: <c>check</c>, <c>jwt</c>, <c>token</c>,
/// <c>sign</c>, <c>send</c> (into a running server process), <c>deliveries list|show</c>.
/// </summary>
public sealed class OperatorCommandsTests : IAsyncLifetime
{
    private const string Secret = "cli-webhook-secret";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-cli-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(1, "acme");
        _gitHub.AddInstallation(2, "globex");
        _gitHub.AddRepository(1, 100, "acme", "api");
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TestDatabase.Delete(_directory);
        Directory.Delete(_directory, recursive: true);
    }

    private Dictionary<string, string?> Settings(string? privateKey = null)
    {
        var settings = TestDatabase.Settings(_directory);
        settings["GitHub:AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture);
        settings["GitHub:PrivateKey"] = privateKey ?? _gitHub.PrivateKeyPkcs1Pem;
        settings["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri;
        settings["GitHub:WebhookSecret"] = Secret;
        TestSecrets.Register(Secret, "a webhook secret");
        return settings;
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(Dictionary<string, string?> settings, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(args, settings, new InvocationConfiguration { Output = output, Error = error });
        var (o, e) = (output.ToString(), error.ToString());
        TestSecrets.AssertNoneIn([("an error message", e)], []);
        return (exit, o, e);
    }

    [Fact]
    public async Task Check_EverythingConfigured_AllOk_NamesTheAppAndItsInstallations()
    {
        var settings = Settings();
        Assert.Equal(0, (await RunAsync(settings, "migrate")).Exit);

        var (exit, output, _) = await RunAsync(settings, "check", "--json");

        Assert.Equal(0, exit);
        var report = JsonDocument.Parse(output).RootElement;
        Assert.True(report.GetProperty("ok").GetBoolean());
        var checks = report.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("detail").GetString()!);
        Assert.Equal(["GitHub App id", "Private key", "Webhook secret", "Database", "GitHub API"], checks.Keys);
        Assert.Contains("RSA, 2048 bits", checks["Private key"], StringComparison.Ordinal);
        Assert.Contains($"the App \"{_gitHub.AppName}\", installed 2 time(s)", checks["GitHub API"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_KeyOfAnotherApp_UnmigratedDatabase_NoSecret_SaysEachInWords()
    {
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var settings = Settings(otherKey.ExportRSAPrivateKeyPem());
        settings["GitHub:WebhookSecret"] = "";

        var (exit, output, _) = await RunAsync(settings, "check");

        Assert.Equal(1, exit);
        Assert.Contains("GitHub:WebhookSecret is not set", output, StringComparison.Ordinal);
        Assert.Contains("migrations pending", output, StringComparison.Ordinal);
        Assert.Contains("answered 401 to GET /app", output, StringComparison.Ordinal);
        Assert.Contains("does not belong to this App id", output, StringComparison.Ordinal);
        Assert.Contains("3 problem(s) found.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jwt_IsAcceptedByGitHub_ForAppRoutes()
    {
        var (exit, output, _) = await RunAsync(Settings(), "jwt");

        Assert.Equal(0, exit);
        using var http = new HttpClient { BaseAddress = _gitHub.ApiBaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("app", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", output.Trim());
        request.Headers.UserAgent.ParseAdd("hubgate-tests");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Token_PrintsAWorkingToken_WarnsOnStderr_AndReusesThePersistedOne()
    {
        var settings = Settings();

        var (exit, output, error) = await RunAsync(settings, "token", "1");
        var again = await RunAsync(settings, "token", "1", "--json");

        Assert.Equal(0, exit);
        Assert.Contains("warning: this is a secret", error, StringComparison.Ordinal);
        var token = output.Trim();
        Assert.Equal(token, JsonDocument.Parse(again.Output).RootElement.GetProperty("token").GetString());
        Assert.Equal(1, _gitHub.MintCountFor(1));
        using var http = new HttpClient { BaseAddress = _gitHub.ApiBaseUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("repos/acme/api", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
        request.Headers.UserAgent.ParseAdd("hubgate-tests");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Token_UnknownInstallation_Exit1_WithGitHubsAnswer()
    {
        var (exit, output, error) = await RunAsync(Settings(), "token", "999");

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.StartsWith("hubgate: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_AppRateLimitedUntilBeyondTheRequestTimeout_WaitsForTheReset_ThenOneMoreRequestMints()
    {
        var settings = Settings();
        settings["GitHub:MaxRateLimitWait"] = "00:01:00";
        var reset = _gitHub.Clock.UtcNow.AddSeconds(15); // beyond GitHub:RequestTimeout (10 s): the wait must not run inside one attempt
        _gitHub.SetRateLimit(0, limit: 5000, remaining: 0, reset);

        var (exit, output, _) = await RunAsync(settings, "token", "1");

        Assert.Equal(0, exit);
        Assert.StartsWith("ghs_", output.Trim(), StringComparison.Ordinal);
        var mints = _gitHub.Requests.Where(r => r.Path == "/app/installations/1/access_tokens").ToList();
        Assert.Equal([403, 201], mints.Select(r => r.Status));
        Assert.True(mints[1].At >= reset, $"sent again at {mints[1].At:O}, before the reset at {reset:O}");
    }

    [Fact]
    public async Task Sign_GitHubsDocumentedVector()
    {
        var file = Path.Combine(_directory, "hello.txt");
        await File.WriteAllTextAsync(file, "Hello, World!");

        var (exit, output, _) = await RunAsync(Settings(), "sign", "--secret", "It's a Secret to Everybody", file);

        Assert.Equal(0, exit);
        Assert.Equal("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", output.Trim());
    }

    [Fact]
    public async Task Sign_WithApp_UsesThatAppsWebhookSecret_AndAnUnknownAppIsNamed()
    {
        const string GhesSecret = "cli-ghes-webhook-secret-5e2a90c1";
        TestSecrets.Register(GhesSecret, "a webhook secret");
        var file = Path.Combine(_directory, "hello.txt");
        await File.WriteAllTextAsync(file, "Hello, World!");
        var settings = Settings();
        settings["GitHub:Apps:ghes:AppId"] = "4242";
        settings["GitHub:Apps:ghes:PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem;
        settings["GitHub:Apps:ghes:ApiBaseUrl"] = "https://ghes.example.com/api/v3/";
        settings["GitHub:Apps:ghes:WebhookSecret"] = GhesSecret;

        var (exit, output, _) = await RunAsync(settings, "sign", "--app", "ghes", file);
        var (unknownExit, _, unknownError) = await RunAsync(settings, "sign", "--app", "nope", file);

        Assert.Equal(0, exit);
        Assert.Equal(Hubgate.Webhooks.WebhookSignature.Sign("Hello, World!"u8.ToArray(), GhesSecret), output.Trim());
        Assert.NotEqual(0, unknownExit);
        Assert.Contains("No GitHub App named 'nope'", unknownError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_AFixtureIntoARunningServer_IsStored_AndShownByDeliveriesListAndShow()
    {
        var settings = Settings();
        await using var server = await ServerProcess.StartAsync(settings);
        var fixture = Path.Combine(WebhookFixtures.Directory, "ping", "payload.json");

        var (exit, output, _) = await RunAsync(settings, "send", fixture, "--event", "ping", "--url", new Uri(server.BaseAddress, "/webhooks/github").AbsoluteUri);
        var wrongSecret = await RunAsync(settings, "send", fixture, "--event", "ping", "--secret", "not-it", "--url", new Uri(server.BaseAddress, "/webhooks/github").AbsoluteUri);

        Assert.Equal(0, exit);
        Assert.StartsWith("202 Accepted  delivery ", output, StringComparison.Ordinal);
        var id = output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        Assert.True(Guid.TryParse(id, out _), output);
        Assert.Equal(1, wrongSecret.Exit);
        Assert.StartsWith("401", wrongSecret.Output, StringComparison.Ordinal);

        var list = await RunAsync(settings, "deliveries", "list");
        Assert.Contains(id, list.Output, StringComparison.Ordinal);
        Assert.Contains("1 deliveries.", list.Output, StringComparison.Ordinal);
        var show = await RunAsync(settings, "deliveries", "show", id, "--json");
        var detail = JsonDocument.Parse(show.Output).RootElement;
        Assert.Equal("ping", detail.GetProperty("delivery").GetProperty("event").GetString());
        Assert.Equal(JsonDocument.Parse(await File.ReadAllBytesAsync(fixture)).RootElement.GetProperty("zen").GetString(),
            detail.GetProperty("payload").GetProperty("zen").GetString());
        Assert.Equal(1, (await RunAsync(settings, "deliveries", "show", "no-such-id")).Exit);
    }
}
