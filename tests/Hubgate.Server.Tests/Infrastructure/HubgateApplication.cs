using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a fresh SQLite file of its own. Settings given to the constructor
/// override appsettings.json the way environment variables would.
/// </summary>
public class HubgateApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public HubgateApplication(IDictionary<string, string?>? settings = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "hubgate-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        DatabasePath = Path.Combine(Directory, "hubgate.db");
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:Hubgate"] = $"Data Source={DatabasePath}",
            ["Database:Provider"] = "Sqlite",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    /// <summary>A folder that belongs to this instance (database, key files).</summary>
    public string Directory { get; }

    public string DatabasePath { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
