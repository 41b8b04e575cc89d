using System.Diagnostics;
using System.Security.Cryptography;
using Hubgate.Storage;
using Hubgate.Webhooks.Store.Log;

namespace Hubgate.LogBench;

/// <summary>Fills a delivery log with deliveries encoded as the inbox encodes them (<see cref="LoggedDelivery"/>).</summary>
internal static class DeliveryLogFill
{
    public static async Task RunAsync(long count, string directory, string fixture)
    {
        var body = File.ReadAllBytes(fixture);
        var hash = Convert.ToHexStringLower(SHA256.HashData(body));
        var clock = Stopwatch.StartNew();
        long next = 0;
        await using (var log = await SegmentLog.OpenAsync(new SegmentLogOptions(directory)))
        {
            await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
            {
                while (Interlocked.Increment(ref next) is var n && n <= count)
                {
                    var delivery = new WebhookDeliveryEntity
                    {
                        DeliveryId = $"reindex-{n}", Event = "push", InstallationId = 1, RepositoryId = 2, RepositoryFullName = "octo/reindex",
                        ReceivedAt = DateTimeOffset.UtcNow, BodySha256 = hash, Body = body,
                    };
                    await log.AppendAsync(LoggedDelivery.Encode(delivery));
                }
            })));
        }

        Console.WriteLine($"appended {count:N0} deliveries of {body.Length:N0} B in {clock.Elapsed.TotalSeconds:N1} s");
    }
}
