using System.Net;
using System.Net.Http.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubgate.Server.Tests.Reliability;

/// <summary>
/// The secret scan that every test host runs when disposed (logs, error bodies, database files) — shown to catch a
/// leak, so that its silence elsewhere means something.
/// </summary>
public sealed partial class SecretScanTests
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "key is {Key}")]
    private static partial void LeakyLog(ILogger logger, string key);

    [Fact]
    public void AConfiguredApiKeyInTheLogs_FailsTheHostsDisposal()
    {
        var app = new HubgateApplication(new Dictionary<string, string?> { ["Hubgate:ApiKey"] = "scan-control-api-key-1c9d" });
        _ = app.Server;
        LeakyLog(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Leaky"), "scan-control-api-key-1c9d");

        var leak = Assert.Throws<SecretLeakException>(app.Dispose);

        Assert.Contains("the API key in the logs", leak.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("scan-control-api-key-1c9d", leak.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AGeneratedClientKeyInTheLogs_FailsTheHostsDisposal_WithoutBeingRegistered()
    {
        var app = new HubgateApplication(new Dictionary<string, string?> { ["Hubgate:ApiKey"] = "scan-control-api-key-4e02" });
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "scan-control-api-key-4e02");
        var added = await client.PostAsJsonAsync(new Uri("/api/clients", UriKind.Relative), new { name = "leaky" });
        var key = (await added.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!;
        LeakyLog(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Leaky"), key);

        var leak = Assert.Throws<SecretLeakException>(app.Dispose);

        Assert.Contains("a generated client key in the logs", leak.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(key, leak.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheShapeOfAGeneratedKey_InsideLongerBase64UrlText_IsNotAKey()
    {
        var key = "hg_" + new string('A', 20) + "_-" + new string('z', 21);
        // An encrypted token (Data Protection's base64url text) that happens to hold the same 46 characters.
        var protectedPayload = "CfDJ8" + key + "Q9x";

        Assert.Empty(TestSecrets.FindIn("token=" + protectedPayload));
        Assert.Equal(["a generated client key"], TestSecrets.FindIn("key=" + key + " end"));
        Assert.Equal(["a generated client key"], TestSecrets.FindIn("\"" + key + "\""));
    }

    [Fact]
    public async Task ATokenTheFakeMinted_IsKnown_AndFoundInAnErrorBody()
    {
        await using var gitHub = await FakeGitHubServer.StartAsync();
        gitHub.AddInstallation(1, "acme");
        gitHub.AddRepository(1, 100, "acme", "api");
        using (var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = "scan-control-api-key-77aa",
            ["GitHub:AppId"] = gitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem,
            ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
        }))
        {
            using var client = app.CreateClient();
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "scan-control-api-key-77aa");
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/proxy/installations/1/repos/acme/api", UriKind.Relative))).StatusCode);
        }

        var token = Assert.Single(gitHub.IssuedTokens);

        Assert.Equal(["an installation token"], TestSecrets.FindIn($"{{\"error\":\"bad token {token}\"}}"));
        Assert.Throws<SecretLeakException>(() => TestSecrets.AssertNoneIn([("an error body", token)], []));
    }

    [Fact]
    public void APrivateKeyLineInADatabaseFile_IsFound()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var pem = rsa.ExportRSAPrivateKeyPem();
        TestSecrets.RegisterPem(pem, "a private key");
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "SQLite format 3\0...\0" + pem.Split('\n')[5] + "\0...");
            var leak = Assert.Throws<SecretLeakException>(() => TestSecrets.AssertNoneIn([], [file]));
            Assert.Contains("a private key in", leak.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
