using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Hubgate.Testing;
using Xunit.Abstractions;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Publish;

/// <summary>
/// The way docs/install.md installs Hubgate on a server: <c>dotnet publish src/Hubgate.Server -p:PublishProfile=linux-x64</c>
/// gives one self-contained ReadyToRun file, <c>hubgate</c>, that starts the service on its own (no .NET on the machine
/// needed, SQLite's native library and the migrations inside it) and runs the operator commands. Published once into a
/// temporary folder (the longest test of the suite: a Release build and the ReadyToRun compilation), run with a data
/// directory and a home of its own, stopped by its PID. SQLite pass only: the binary is the same for PostgreSQL.
/// </summary>
[Trait("Database", "Sqlite")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PublishedBinaryTests(ITestOutputHelper log) : IDisposable
{
    private const string Secret = "published-binary-secret";
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);
    private readonly string _root = Directory.CreateTempSubdirectory("hubgate-publish-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task LinuxProfile_PublishesOneSelfContainedFileNamedHubgate_ThatAcceptsASignedDelivery_AndRunsCheck()
    {
        var output = Path.Combine(_root, "publish");
        var elapsed = Stopwatch.StartNew();
        await PublishAsync(output);
        log.WriteLine($"published in {elapsed.Elapsed.TotalSeconds:F0} s");

        // One executable and its settings file: no Hubgate.Server.dll, no runtime, no libe_sqlite3.so beside it.
        var binary = Path.Combine(output, "hubgate");
        Assert.True(File.Exists(binary), $"no {binary}; published: {string.Join(", ", Directory.EnumerateFiles(output).Select(Path.GetFileName))}");
        Assert.DoesNotContain(Directory.EnumerateFiles(output).Select(Path.GetFileName),
            name => name!.EndsWith(".dll", StringComparison.Ordinal) || name.EndsWith(".so", StringComparison.Ordinal));

        var dataDirectory = Path.Combine(_root, "data-home", "hubgate");
        var settings = Operator();
        await using (var server = await ServerProcess.StartExecutableAsync(binary, settings))
        {
            log.WriteLine($"answering /healthz {elapsed.Elapsed.TotalSeconds:F0} s after the start of the test");
            using var client = server.CreateClient();
            using var delivery = WebhookFixtures.Delivery("/webhooks/github", "push",
                WebhookFixtures.Load("push", "with-new-branch.payload.json"), Secret);

            using var response = await client.SendAsync(delivery);

            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n{server.Output}");
            Assert.Contains($"the data directory {dataDirectory} (owner-only)", server.Output, StringComparison.Ordinal);
        }

        var check = await ServerProcess.RunExecutableAsync(binary, settings, "check", "--json");
        var checks = JsonDocument.Parse(check.Output).RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => (Ok: c.GetProperty("ok").GetBoolean(), Detail: c.GetProperty("detail").GetString()!));
        Assert.Equal((true, "set"), checks["Webhook secret"]);
        Assert.Equal((true, $"SQLite file {Path.Combine(dataDirectory, "hubgate.db")}: reachable, migrations applied"), checks["Database"]);
        log.WriteLine($"done in {elapsed.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>A user with a data folder and a home of their own (the single file unpacks SQLite's native library under ~/.net).</summary>
    private Dictionary<string, string?> Operator() => new()
    {
        ["XDG_DATA_HOME"] = Path.Combine(_root, "data-home"),
        ["HOME"] = Directory.CreateDirectory(Path.Combine(_root, "home")).FullName,
        ["ConnectionStrings:Hubgate"] = null,
        ["Database:Provider"] = null,
        ["GitHub:WebhookSecret"] = Secret,
        ["Logging:LogLevel:Hubgate.Server.Storage.StorageSetup"] = "Information",
    };

    /// <summary>
    /// <c>dotnet publish</c> with the profile, as docs/install.md says, bounded in time; the checkout's obj/ is reused, so
    /// a second run is incremental.
    /// </summary>
    private static Task<string> PublishAsync(string output) =>
        DotnetCommand.RunAsync(Checkout.Root, PublishTimeout, "publish", "src/Hubgate.Server", "-p:PublishProfile=linux-x64", "-o", output);
}
