using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Storage;

/// <summary>
/// A database that cannot be reached at start-up is one clear line naming the provider and host — never a stack
/// trace, never the password — and a non-zero exit, for the service and for its commands. Runs once (SQLite pass):
/// nothing here needs a database.
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class UnreachableDatabaseTests
{
    private const string Password = "never-print-this-pw";

    /// <summary>A loopback port with nothing listening.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Dictionary<string, string?> Postgres(int port) => new()
    {
        ["Database:Provider"] = "Postgres",
        ["ConnectionStrings:Hubgate"] = $"Host=127.0.0.1;Port={port};Username=hubgate;Password={Password};Database=hubgate;Timeout=3",
    };

    [Fact]
    public async Task Service_PostgresUnreachable_ExitsWith2_AndOneLineNamingProviderAndHost()
    {
        var port = ClosedPort();

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(Postgres(port)));

        Assert.Contains("exited with 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"Cannot open the database (PostgreSQL at 127.0.0.1:{port}/hubgate)", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("migrate")]
    [InlineData("sync")]
    public async Task Command_PostgresUnreachable_ExitsWith2_WithAMessageNotAStackTrace(string command)
    {
        var port = ClosedPort();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await HubgateCommand.RunAsync([command], Postgres(port), new InvocationConfiguration { Output = output, Error = error });

        Assert.Equal(2, exit);
        Assert.Equal($"hubgate: Cannot open the database (PostgreSQL at 127.0.0.1:{port}/hubgate): Connection refused", error.ToString().Trim());
        Assert.DoesNotContain(Password, output + error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_SqliteFileInAMissingFolder_ExitsWith2_NamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), "hubgate-missing-" + Guid.NewGuid().ToString("N"), "sub", "hubgate.db");
        using var error = new StringWriter();

        var exit = await HubgateCommand.RunAsync(["migrate"], new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Hubgate"] = $"Data Source={path}",
        }, new InvocationConfiguration { Output = TextWriter.Null, Error = error });

        Assert.Equal(2, exit);
        Assert.Contains($"SQLite file {path}", error.ToString(), StringComparison.Ordinal);
    }
}
