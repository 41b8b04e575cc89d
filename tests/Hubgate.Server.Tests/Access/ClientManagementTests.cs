using System.CommandLine;
using System.Net;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Cli;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Server.Tests.Access.ClientHosts;

namespace Hubgate.Server.Tests.Access;

/// <summary>
/// Clients managed at run time through <c>/api/clients</c> and <c>hubgate clients</c>: a key is shown once and stored
/// only as its SHA-256, the policy holds on the proxy, and a rotated or removed key stops working at the next request —
/// on this replica and on another one sharing the database.
/// </summary>
public sealed class ClientManagementTests : IAsyncLifetime, IDisposable
{
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await StartGitHubAsync();
        _app = new HubgateApplication(Settings(_gitHub, new Dictionary<string, string?> { ["Hubgate:Clients:ci:Key"] = "configured-ci-key-31d0" }));
        await AccessTestModel.SeedAsync(_app); // repository-limited clients are served with tokens scoped through the model
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Api_AddedClient_HasANewKey_StoredOnlyAsItsHash_AndItsPolicyHolds()
    {
        var key = await AddAsync(_app, new { name = "deploy", installations = new[] { "1" }, repositories = new[] { "acme/api" } });

        Assert.Matches("^hg_[A-Za-z0-9_-]{43}$", key);
        Assert.Equal(200, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(403, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/web"));
        Assert.Equal(403, await StatusAsync(_app, key, "/api/clients")); // no Admin right
        await using var db = await _app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var row = await db.Clients.SingleAsync(c => c.Name == "deploy");
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key))), row.KeySha256);
    }

    [Fact]
    public async Task Api_List_ShowsConfiguredAndStoredClients_WithoutKeys()
    {
        var key = await AddAsync(_app, new { name = "deploy", appAccess = "read", admin = true });

        var text = await (await SendAsync(_app, AdminKey, HttpMethod.Get, "/api/clients")).Content.ReadAsStringAsync();

        var clients = JsonSerializer.Deserialize<JsonElement>(text).EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["admin", "ci", "deploy"], clients.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("configuration", clients["ci"].GetProperty("source").GetString());
        Assert.Equal("database", clients["deploy"].GetProperty("source").GetString());
        Assert.Equal("read", clients["deploy"].GetProperty("appAccess").GetString());
        Assert.Equal("default", clients["deploy"].GetProperty("app").GetString());
        Assert.True(clients["deploy"].GetProperty("admin").GetBoolean());
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain("configured-ci-key-31d0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_RotatedKey_StopsWorkingAtTheNextRequest_TheNewOneWorks()
    {
        var old = await AddAsync(_app, new { name = "deploy" });
        Assert.Equal(200, await StatusAsync(_app, old, "/proxy/installations/1/repos/acme/api"));

        var rotated = await RotateAsync(_app, "deploy");

        Assert.NotEqual(old, rotated);
        Assert.Equal(401, await StatusAsync(_app, old, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(200, await StatusAsync(_app, rotated, "/proxy/installations/1/repos/acme/api"));
    }

    [Fact]
    public async Task Api_RemovedClient_IsRefusedAtTheNextRequest()
    {
        var key = await AddAsync(_app, new { name = "deploy" });
        Assert.Equal(200, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));

        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/deploy")).StatusCode);

        Assert.Equal(401, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/deploy")).StatusCode);
    }

    [Theory]
    [InlineData("ci", HttpStatusCode.Conflict)] // declared in configuration
    [InlineData("admin", HttpStatusCode.Conflict)] // Hubgate:ApiKey
    [InlineData("Deploy", HttpStatusCode.BadRequest)] // not lower case
    [InlineData("", HttpStatusCode.BadRequest)]
    public async Task Api_AddingAReservedOrInvalidName_IsRefused(string name, HttpStatusCode expected)
    {
        var response = await SendAsync(_app, AdminKey, HttpMethod.Post, "/api/clients", new { name });

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Api_ConfiguredClients_CannotBeRotatedOrRemoved()
    {
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(_app, AdminKey, HttpMethod.Post, "/api/clients/ci/rotate")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/ci")).StatusCode);
        Assert.Equal(200, await StatusAsync(_app, "configured-ci-key-31d0", "/proxy/installations/1/repos/acme/api"));
    }

    [Fact]
    public async Task Api_AnInvalidPolicy_Is400NamingTheSetting()
    {
        var response = await SendAsync(_app, AdminKey, HttpMethod.Post, "/api/clients", new { name = "deploy", repositories = new[] { "not a repository" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Repositories", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKeyRotatedOnOneReplica_IsRefusedByAnotherAtItsNextRequest()
    {
        using var other = new HubgateApplication(Settings(_gitHub, _app.DatabaseSettings));
        var old = await AddAsync(_app, new { name = "deploy" });
        Assert.Equal(200, await StatusAsync(other, old, "/proxy/installations/1/repos/acme/api"));

        var rotated = await RotateAsync(_app, "deploy");

        Assert.Equal(401, await StatusAsync(other, old, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(200, await StatusAsync(other, rotated, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/deploy")).StatusCode);
        Assert.Equal(401, await StatusAsync(other, rotated, "/proxy/installations/1/repos/acme/api"));
    }

    [Fact]
    public async Task Cli_AddListRotateRemove_OnTheServicesDatabase()
    {
        var cli = new Dictionary<string, string?>(_app.DatabaseSettings) { ["Hubgate:Clients:ci:Key"] = "configured-ci-key-31d0" };

        var (exit, key, _) = await RunAsync(cli, "clients", "add", "deploy", "--installation", "1", "--repository", "acme/api");
        Assert.Equal(0, exit);
        Assert.Matches("^hg_[A-Za-z0-9_-]{43}$", key);
        Assert.Equal(200, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(403, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/web"));

        var (_, list, _) = await RunAsync(cli, "clients", "list");
        Assert.Contains("deploy", list, StringComparison.Ordinal);
        Assert.Contains("acme/api", list, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list, StringComparison.Ordinal);

        var (rotateExit, rotated, _) = await RunAsync(cli, "clients", "rotate", "deploy");
        Assert.Equal(0, rotateExit);
        Assert.Equal(401, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(200, await StatusAsync(_app, rotated, "/proxy/installations/1/repos/acme/api"));

        Assert.Equal(0, (await RunAsync(cli, "clients", "remove", "deploy")).Exit);
        Assert.Equal(401, await StatusAsync(_app, rotated, "/proxy/installations/1/repos/acme/api"));

        var (clash, _, error) = await RunAsync(cli, "clients", "add", "ci");
        Assert.Equal(2, clash);
        Assert.Contains("configuration", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_AddWithPermissions_ServesTheClientWithATokenMintedForThem()
    {
        var cli = new Dictionary<string, string?>(_app.DatabaseSettings) { ["Hubgate:Clients:ci:Key"] = "configured-ci-key-31d0" };

        var (exit, key, _) = await RunAsync(cli, "clients", "add", "reader", "--installation", "1", "--permission", "contents:read");
        Assert.Equal(0, exit);
        Assert.Equal(200, await StatusAsync(_app, key, "/proxy/installations/1/repos/acme/api"));

        var mint = Assert.Single(_gitHub.Mints, m => m.Status == 201);
        using var body = System.Text.Json.JsonDocument.Parse(mint.Body);
        Assert.Equal("read", body.RootElement.GetProperty("permissions").GetProperty("contents").GetString());

        var (bad, _, error) = await RunAsync(cli, "clients", "add", "odd", "--permission", "contents");
        Assert.Equal(2, bad);
        Assert.Contains("name:level", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManagementChanges_AreLogged_WithTheClientAndWhoChangedIt_NeverTheKey()
    {
        var key = await AddAsync(_app, new { name = "deploy", repositories = new[] { "acme/api" } });
        var rotated = await RotateAsync(_app, "deploy");
        await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/deploy");

        var logs = _app.AllLogText();
        Assert.Contains("Client deploy added by admin: installations [], repositories [\"acme/api\"], streams [], app default (None)", logs, StringComparison.Ordinal);
        Assert.Contains("Client deploy was given a new key by admin", logs, StringComparison.Ordinal);
        Assert.Contains("Client deploy removed by admin", logs, StringComparison.Ordinal);
        Assert.DoesNotContain(key, logs, StringComparison.Ordinal);
        Assert.DoesNotContain(rotated, logs, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await HubgateCommand.RunAsync(args, settings, new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString().Trim(), error.ToString());
    }
}
