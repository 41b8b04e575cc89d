using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>
/// The durable inbox alone, without HTTP: <c>writers</c> concurrent callers store the 8.8 KB <c>push/with-new-branch</c>
/// payload under fresh delivery ids for <c>seconds</c>, in a fresh SQLite file (<c>synchronous=FULL</c>); deliveries
/// committed per second is the result. Separates what the single SQLite writer can commit from what the HTTP path costs.
/// <c>dotnet run -c Release --project bench/Hubgate.Benchmarks -- inbox [seconds] [writers]</c>
/// </summary>
internal static class InboxLoad
{
    public static async Task<int> RunAsync(int seconds, int writers)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-inbox-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            await using var provider = await BenchHost.StartAsync(new Dictionary<string, string?>
            {
                ["Database:Provider"] = "Sqlite",
                ["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(directory, "hubgate.db")}",
                ["GitHub:WebhookSecret"] = "bench",
                ["Webhooks:RunWorker"] = "false",
            }, withModel: false);

            var inbox = provider.GetRequiredService<WebhookInbox>();
            var body = await File.ReadAllBytesAsync(Fixture("push/with-new-branch.payload.json"));
            PayloadInspector.TryInspect(body, out var facts);
            var hash = Convert.ToHexStringLower(SHA256.HashData(body));

            async Task<long> WriteAsync(TimeSpan duration)
            {
                long stored = 0;
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < duration)
                {
                    await inbox.StoreAsync(StoredApp.Default, new WebhookDeliveryEntity
                    {
                        DeliveryId = Guid.NewGuid().ToString(),
                        Event = "push",
                        InstallationId = facts.InstallationId,
                        RepositoryId = facts.RepositoryId,
                        ReceivedAt = DateTimeOffset.UtcNow,
                        Body = body,
                        BodySha256 = hash,
                    });
                    stored++;
                }

                return stored;
            }

            await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(() => WriteAsync(TimeSpan.FromSeconds(2))))); // warm-up
            var clock = Stopwatch.StartNew();
            var counts = await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(() => WriteAsync(TimeSpan.FromSeconds(seconds)))));
            var elapsed = clock.Elapsed.TotalSeconds;
            var total = counts.Sum();

            await using var db = await provider.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
            var rows = await db.WebhookDeliveries.CountAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"inbox writers={writers} seconds={elapsed:F1} stored={total} per_s={total / elapsed:F0} rows_in_table={rows}"));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A payload from the repository's <c>tests/fixtures/github-webhooks</c>, found upwards from the build output.</summary>
    private static string Fixture(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "tests", "fixtures", "github-webhooks", relative);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"tests/fixtures/github-webhooks/{relative} not found above {AppContext.BaseDirectory}");
    }
}
