namespace Hubgate.Server.Tests.Hosting;

/// <summary>
/// How an operator starts the service — from a unit or a shell, in whatever folder, with the address in
/// <c>ASPNETCORE_URLS</c> as for any ASP.NET Core app — and what it reads: its own <c>appsettings.json</c> beside the
/// program, and the address it was given (no default in that file overriding the <c>ASPNETCORE_</c> variables).
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class HostAddressTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hubgate-host-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private Dictionary<string, string?> Operator(string logLevel = "Warning") => new()
    {
        ["XDG_DATA_HOME"] = Path.Combine(_root, "data-home"),
        ["HOME"] = Path.Combine(_root, "home"),
        ["ConnectionStrings:Hubgate"] = null,
        ["Database:Provider"] = null,
        ["Logging:LogLevel:Default"] = logLevel,
    };

    [Fact]
    public async Task StartedInTheProgramsFolder_ItListensWhereAspNetCoreUrlsSays()
    {
        var programFolder = Path.GetDirectoryName(typeof(Program).Assembly.Location)!;

        // Fails to start (no /healthz on the given port) when a default address in appsettings.json wins.
        await using var server = await ServerProcess.StartFromAsync(programFolder, "ASPNETCORE_URLS", Operator());
        using var client = server.CreateClient();

        using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task StartedFromAnotherFolder_ItReadsTheSettingsBesideTheProgram()
    {
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;

        // appsettings.json beside the program sets Microsoft.EntityFrameworkCore to Warning: with it read, the migrations
        // applied at start-up log nothing at Information even though the default level is Information.
        await using var server = await ServerProcess.StartFromAsync(elsewhere, "ASPNETCORE_URLS", Operator(logLevel: "Information"));

        Assert.Contains("Hubgate's database and state", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("info: Microsoft.EntityFrameworkCore", server.Output, StringComparison.Ordinal);
    }
}
