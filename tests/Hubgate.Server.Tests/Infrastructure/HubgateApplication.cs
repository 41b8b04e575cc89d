using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a fresh SQLite file of its own. Settings given to the constructor
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
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["ConnectionStrings:Hubgate"] = $"Data Source={DatabasePath}",
            ["Database:Provider"] = "Sqlite",
            ["Urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    /// <summary>A folder that belongs to this instance (database, key files).</summary>
    public string Directory { get; }

    public string DatabasePath { get; }

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
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
