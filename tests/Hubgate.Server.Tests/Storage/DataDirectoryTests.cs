using System.CommandLine;
using System.Text.Json;
using Hubgate.Server.Cli;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Storage;

/// <summary>
/// Without <c>ConnectionStrings:Hubgate</c> the SQLite database lives in the data directory (<c>Hubgate:DataDirectory</c>,
/// by default the user's application-data folder + <c>hubgate</c>), created owner-only; the service and every command
/// use the same one. Processes of their own get a temporary XDG_DATA_HOME and HOME, so nothing reaches the real home.
/// </summary>
[Trait("Database", "Sqlite")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly string _root = Directory.CreateTempSubdirectory("hubgate-datadir-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>A user whose application-data folder is <c>{root}/data-home</c> (XDG_DATA_HOME) and home <c>{root}/home</c>; no database configured.</summary>
    private Dictionary<string, string?> FreshUser() => new()
    {
        ["XDG_DATA_HOME"] = Path.Combine(_root, "data-home"),
        ["HOME"] = Path.Combine(_root, "home"),
        ["ConnectionStrings:Hubgate"] = null,
        ["Database:Provider"] = null,
        ["Logging:LogLevel:Hubgate.Server.Storage.StorageSetup"] = "Information",
    };

    [Fact]
    public async Task Service_NothingConfigured_KeepsItsDatabaseInTheUsersDataFolder_OwnerOnly_AndSaysSo()
    {
        var expected = Path.Combine(_root, "data-home", "hubgate");

        await using (var server = await ServerProcess.StartAsync(FreshUser()))
        {
            Assert.Contains($"Hubgate's database and state: the data directory {expected} (owner-only): SQLite file {Path.Combine(expected, "hubgate.db")}",
                server.Output, StringComparison.Ordinal);
        }

        Assert.Equal(OwnerOnly, File.GetUnixFileMode(expected));
        Assert.True(File.Exists(Path.Combine(expected, "hubgate.db")));
        Assert.False(Directory.Exists(Path.Combine(_root, "home", ".local")));
    }

    [Fact]
    public async Task Commands_NothingConfigured_UseTheServicesDataFolder_AndCheckNamesIt()
    {
        var expected = Path.Combine(_root, "data-home", "hubgate");

        var migrate = await ServerProcess.RunCommandAsync(FreshUser(), "migrate");
        var check = await ServerProcess.RunCommandAsync(FreshUser(), "check", "--json");

        Assert.True(migrate.Exit == 0, migrate.Output + migrate.Error);
        var checks = JsonDocument.Parse(check.Output).RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => (Ok: c.GetProperty("ok").GetBoolean(), Detail: c.GetProperty("detail").GetString()!));
        Assert.Equal((true, $"{expected} (owner-only)"), checks["Data directory"]);
        Assert.Equal((true, $"SQLite file {Path.Combine(expected, "hubgate.db")}: reachable, migrations applied"), checks["Database"]);
    }

    [Fact]
    public async Task Check_DataDirectorySet_CreatesItOwnerOnly_AndNamesIt()
    {
        var directory = Path.Combine(_root, "state");
        using var output = new StringWriter();

        await HubgateCommand.RunAsync(["check"], new Dictionary<string, string?> { ["Hubgate:DataDirectory"] = directory },
            new InvocationConfiguration { Output = output, Error = TextWriter.Null });

        Assert.Matches($@"Data directory\s*[│|]\s*ok\s*[│|]\s*{System.Text.RegularExpressions.Regex.Escape(directory)} \(owner-only\)", output.ToString());
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task Migrate_DataDirectorySet_CreatesTheDatabaseInIt()
    {
        var directory = Path.Combine(_root, "state");

        var exit = await HubgateCommand.RunAsync(["migrate"], new Dictionary<string, string?> { ["Hubgate:DataDirectory"] = directory },
            new InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null });

        Assert.Equal(0, exit);
        Assert.True(File.Exists(Path.Combine(directory, "hubgate.db")));
        Assert.Equal(OwnerOnly, File.GetUnixFileMode(directory));
    }

    [Fact]
    public async Task Service_DataDirectoryThatCannotBeCreated_DoesNotStart_NamingTheKey()
    {
        var file = Path.Combine(_root, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");
        var settings = FreshUser();
        settings["Hubgate:DataDirectory"] = Path.Combine(file, "hubgate");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(settings));

        Assert.Contains("exited with 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"Hubgate:DataDirectory {Path.Combine(file, "hubgate")} cannot be created or written", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_DataDirectoryOthersMayRead_IsRefusedNamingTheKey()
    {
        var directory = Path.Combine(_root, "shared");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, OwnerOnly | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        using var error = new StringWriter();

        var exit = await HubgateCommand.RunAsync(["migrate"], new Dictionary<string, string?> { ["Hubgate:DataDirectory"] = directory },
            new InvocationConfiguration { Output = TextWriter.Null, Error = error });

        Assert.Equal(2, exit);
        Assert.StartsWith($"hubgate: Hubgate:DataDirectory {directory} may be read or written by other users (mode 0755)", error.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(directory, "hubgate.db")));
    }

    [Fact]
    public async Task Migrate_ConnectionStringSet_WinsOverTheDataDirectory_WhichIsNotCreated()
    {
        var directory = Path.Combine(_root, "unused");
        var database = Path.Combine(_root, "elsewhere.db");

        var exit = await HubgateCommand.RunAsync(["migrate"], new Dictionary<string, string?>
        {
            ["Hubgate:DataDirectory"] = directory,
            ["ConnectionStrings:Hubgate"] = $"Data Source={database}",
        }, new InvocationConfiguration { Output = TextWriter.Null, Error = TextWriter.Null });

        Assert.Equal(0, exit);
        Assert.True(File.Exists(database));
        Assert.False(Directory.Exists(directory));
    }
}
