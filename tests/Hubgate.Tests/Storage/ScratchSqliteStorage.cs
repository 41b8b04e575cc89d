using Hubgate.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Tests.Storage;

/// <summary>Hubgate's storage services on a SQLite file of its own, in a temporary folder deleted afterwards.</summary>
internal sealed class ScratchSqliteStorage : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"));

    public ScratchSqliteStorage()
    {
        Directory.CreateDirectory(_directory);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(_directory, "hubgate.db")}",
        }).Build();
        Services = new ServiceCollection().AddLogging().AddSingleton<IConfiguration>(configuration)
            .AddHubgateStorage(configuration).BuildServiceProvider();
    }

    public ServiceProvider Services { get; }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
