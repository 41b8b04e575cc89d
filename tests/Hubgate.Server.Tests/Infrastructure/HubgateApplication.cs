using Hubgate.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a fresh database of its own (SQLite, or PostgreSQL on the suite's PostgreSQL pass: see
/// <see cref="TestDatabase"/>). Settings given to the constructor
/// override appsettings.json the way environment variables would.
/// </summary>
public class HubgateApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    private readonly Action<IServiceCollection>? _services;

    public HubgateApplication(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        Directory = Path.Combine(Path.GetTempPath(), "hubgate-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        DatabasePath = Path.Combine(Directory, "hubgate.db");
        _settings = TestDatabase.Settings(Directory);
        _settings["Urls"] = "http://127.0.0.1:0";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    /// <summary>A folder that belongs to this instance (database, key files).</summary>
    public string Directory { get; }

    /// <summary>The SQLite file, when the run is on SQLite.</summary>
    public string DatabasePath { get; }

    /// <summary><c>Database:Provider</c> and <c>ConnectionStrings:Hubgate</c> as the server uses them (for CLI runs on the same database).</summary>
    public Dictionary<string, string?> DatabaseSettings => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Database:Provider"] = _settings["Database:Provider"],
        ["ConnectionStrings:Hubgate"] = _settings["ConnectionStrings:Hubgate"],
    };

    /// <summary>Everything the server logged (Debug and up).</summary>
    public FakeLogCollector Logs { get; } = new();

    /// <summary>Every captured log line with its structured values, for assertions and secret scans.</summary>
    public string AllLogText() => string.Join('\n', Logs.GetSnapshot().Select(r =>
        r.Category + " " + r.Message + " " + r.Exception + " " + string.Join(' ', r.StructuredState?.Select(kv => kv.Key + "=" + kv.Value) ?? [])));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(Logs)));
            _services?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        TestDatabase.Delete(Directory);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
