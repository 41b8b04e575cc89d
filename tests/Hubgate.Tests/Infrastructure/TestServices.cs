using Hubgate.Authentication;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Webhooks;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Hubgate.Tests.Infrastructure;

/// <summary>
/// The library's real services (storage on a fresh database of the run's kind — see <see cref="TestDatabase"/> —,
/// GitHub App authentication) as an application
/// would register them, with a fake clock and captured logs.
/// </summary>
internal sealed class TestServices : IAsyncDisposable
{
    private TestServices(ServiceProvider provider, string directory, FakeTimeProvider time, FakeLogCollector logs)
    {
        Provider = provider;
        Directory = directory;
        Time = time;
        Logs = logs;
    }

    public ServiceProvider Provider { get; }
    public string Directory { get; }
    public string DatabasePath => Path.Combine(Directory, "hubgate.db");
    public FakeTimeProvider Time { get; }
    public FakeLogCollector Logs { get; }

    public T Get<T>() where T : notnull => Provider.GetRequiredService<T>();

    /// <summary>Builds and migrates. <paramref name="directory"/> reuses an earlier instance's database (a "restart").</summary>
    public static async Task<TestServices> StartAsync(
        IDictionary<string, string?> settings,
        FakeTimeProvider? time = null,
        string? directory = null,
        Action<IServiceCollection>? configure = null)
    {
        directory ??= Path.Combine(Path.GetTempPath(), "hubgate-unit", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var all = TestDatabase.Settings(directory, migrated: true);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
            if (key.Contains("Secret", StringComparison.OrdinalIgnoreCase) || key.Equals("Hubgate:ApiKey", StringComparison.OrdinalIgnoreCase))
            {
                TestSecrets.Register(value, $"the configured {key}");
            }
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        time ??= new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new FakeLogCollector();

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs)));
        services.AddSingleton<TimeProvider>(new TestClock(time));
        services.AddHubgateStorage(configuration);
        services.AddGitHubApp(configuration);
        services.AddGitHubWebhooks(configuration);
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        await provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None);
        return new TestServices(provider, directory, time, logs);
    }

    /// <summary>Every captured log line with its structured values, for secret scans.</summary>
    public string AllLogText() => string.Join('\n', Logs.GetSnapshot().Select(r =>
        r.Message + " " + r.Exception + " " + string.Join(' ', r.StructuredState?.Select(kv => kv.Key + "=" + kv.Value) ?? [])));

    public async ValueTask DisposeAsync()
    {
        await Provider.DisposeAsync();
        SqliteConnection.ClearAllPools();
        // Nothing the services logged or wrote may hold a token, JWT, key or secret of the run.
        TestSecrets.AssertNoneIn([("the logs", AllLogText())], [DatabasePath, DatabasePath + "-wal"]);
    }

    /// <summary>Deletes the database folder (call once no other instance uses it).</summary>
    public void DeleteFiles()
    {
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
