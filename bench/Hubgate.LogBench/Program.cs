using System.Diagnostics;
using System.Globalization;
using Hubgate.LogBench;

// Issue 16: three designs of a durable log, each run with N concurrent appenders that each append a record and wait
// until it is on disk, again and again, for a fixed time. Runs are interleaved (A, B, C, A, B, C, …) so that the noise
// of a shared machine falls on every design alike; the summary gives medians and the spread.
//
//   dotnet run -c Release --project bench/Hubgate.LogBench -- [--record push|1m] [--appenders 32] [--seconds 5]
//       [--rounds 3] [--designs segment,faster,rocksdb] [--dir /tmp/hubgate-logbench] [--records N]
// --records stops each run after N appends instead of after --seconds (the re-read of 1 million records).
// --deliveries N --log DIR: appends N deliveries, as the inbox encodes them (the push fixture, each with its own id),
// to the delivery log in DIR (64 appenders), for bench/load/reindex.sh to time a start-up that indexes them all again.
if (Array.IndexOf(args, "--deliveries") is var at and >= 0)
{
    await DeliveryLogFill.RunAsync(long.Parse(args[at + 1], CultureInfo.InvariantCulture), args[Array.IndexOf(args, "--log") + 1],
        Settings.Parse(args).Fixture);
    return;
}

var settings = Settings.Parse(args);
var record = settings.Record == "1m" ? OneMegabyte(settings.Fixture) : File.ReadAllBytes(settings.Fixture);
Console.WriteLine($"record {record.Length:N0} B, {settings.Appenders} appenders, {settings.Seconds} s a run, {settings.Rounds} rounds, "
    + $"{Environment.ProcessorCount} cores, folder {settings.Directory}");
Directory.CreateDirectory(settings.Directory);
var results = new List<RunResult>();
try
{
    for (var round = 1; round <= settings.Rounds; round++)
    {
        foreach (var design in settings.Designs)
        {
            var result = await Bench.RunAsync(design, Path.Combine(settings.Directory, $"{design}-{round}"), record, settings);
            results.Add(result);
            Console.WriteLine(result);
        }
    }
}
finally
{
    Directory.Delete(settings.Directory, recursive: true);
}

Console.WriteLine();
Console.WriteLine("| design | records/s | MB/s | commit p50 ms | commit p99 ms | CPU µs/record | disk B/record | re-read records/s |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var group in results.GroupBy(r => r.Design))
{
    Console.WriteLine($"| {group.Key} | {Spread(group, r => r.RecordsPerSecond, "N0")} | {Spread(group, r => r.MegabytesPerSecond, "N0")} | "
        + $"{Spread(group, r => r.P50Ms, "N2")} | {Spread(group, r => r.P99Ms, "N2")} | {Spread(group, r => r.CpuMicrosPerRecord, "N1")} | "
        + $"{Spread(group, r => r.DiskBytesPerRecord, "N0")} | {Spread(group, r => r.ScanRecordsPerSecond, "N0")} |");
}

static string Spread(IEnumerable<RunResult> runs, Func<RunResult, double> value, string format)
{
    var values = runs.Select(value).Order().ToArray();
    var median = values[values.Length / 2];
    return string.Create(CultureInfo.InvariantCulture, $"{median.ToString(format, CultureInfo.InvariantCulture)} ({values[0].ToString(format, CultureInfo.InvariantCulture)}–{values[^1].ToString(format, CultureInfo.InvariantCulture)})");
}

// A 1 MiB record: the push fixture repeated (no design compresses, so the content does not matter).
static byte[] OneMegabyte(string fixture)
{
    var push = File.ReadAllBytes(fixture);
    var record = new byte[1 << 20];
    for (var at = 0; at < record.Length; at += push.Length)
    {
        push.AsSpan(0, Math.Min(push.Length, record.Length - at)).CopyTo(record.AsSpan(at));
    }

    return record;
}

internal sealed record Settings(string Record, int Appenders, int Seconds, int Rounds, string[] Designs, string Directory, string Fixture, long Records)
{
    public static Settings Parse(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        return new Settings(
            Arg("--record", "push"),
            int.Parse(Arg("--appenders", "32"), CultureInfo.InvariantCulture),
            int.Parse(Arg("--seconds", "5"), CultureInfo.InvariantCulture),
            int.Parse(Arg("--rounds", "3"), CultureInfo.InvariantCulture),
            Arg("--designs", "segment,faster,rocksdb").Split(','),
            Arg("--dir", Path.Combine(Path.GetTempPath(), $"hubgate-logbench-{Environment.ProcessId}")),
            Arg("--fixture", "tests/fixtures/github-webhooks/push/with-new-branch.payload.json"),
            long.Parse(Arg("--records", "0"), CultureInfo.InvariantCulture));
    }
}

internal sealed record RunResult(string Design, long Records, double Seconds, double[] LatenciesMs, double CpuMicros, long DiskBytes, double ScanSeconds)
{
    public double RecordsPerSecond => Records / Seconds;
    public double MegabytesPerSecond { get; init; }
    public double P50Ms => Percentile(0.50);
    public double P99Ms => Percentile(0.99);
    public double CpuMicrosPerRecord => CpuMicros / Records;
    public double DiskBytesPerRecord => (double)DiskBytes / Records;
    public double ScanRecordsPerSecond => Records / ScanSeconds;

    private double Percentile(double p) => LatenciesMs[Math.Min(LatenciesMs.Length - 1, (int)(p * LatenciesMs.Length))];

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Design,-8} {RecordsPerSecond,9:N0} rec/s {MegabytesPerSecond,6:N0} MB/s p50 {P50Ms,6:N2} ms p99 {P99Ms,6:N2} ms "
        + $"CPU {CpuMicrosPerRecord,6:N1} µs/rec disk {DiskBytesPerRecord,8:N0} B/rec re-read {ScanRecordsPerSecond,9:N0} rec/s");
}

internal static class Bench
{
    public static async Task<RunResult> RunAsync(string design, string directory, byte[] record, Settings settings)
    {
        Directory.CreateDirectory(directory);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(settings.Records > 0 ? 30 : 5));
        var log = design switch
        {
            "segment" => await SegmentDesign.OpenAsync(directory, timeout.Token),
            "faster" => await FasterDesign.OpenAsync(directory, timeout.Token),
            "rocksdb" => await RocksDbDesign.OpenAsync(directory, timeout.Token),
            _ => throw new ArgumentException($"Unknown design {design}"),
        };
        await using var disposal = log;

        // A short warm-up (JIT, first segment), not counted.
        for (var i = 0; i < 50; i++)
        {
            await log.AppendAsync(record, timeout.Token);
        }

        var time = TimeProvider.System;
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var started = time.GetTimestamp();
        var deadline = settings.Records > 0 ? long.MaxValue : started + (long)(settings.Seconds * (double)Stopwatch.Frequency);
        var budget = settings.Records > 0 ? settings.Records : long.MaxValue;
        var latencies = new List<double>[settings.Appenders];
        var appenders = new Task[settings.Appenders];
        for (var a = 0; a < settings.Appenders; a++)
        {
            var mine = latencies[a] = new List<double>(1 << 16);
            async Task Append()
            {
                while (time.GetTimestamp() < deadline && Interlocked.Decrement(ref budget) >= 0)
                {
                    var begin = time.GetTimestamp();
                    await log.AppendAsync(record, timeout.Token);
                    mine.Add(time.GetElapsedTime(begin).TotalMilliseconds);
                }
            }

            appenders[a] = log.Blocking
                ? Task.Factory.StartNew(() => Append().GetAwaiter().GetResult(), timeout.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                : Task.Run(Append, timeout.Token);
        }

        await Task.WhenAll(appenders);
        var seconds = time.GetElapsedTime(started).TotalSeconds;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalMicroseconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();

        var scanStarted = time.GetTimestamp();
        var scanned = await log.ReopenAndScanAsync(timeout.Token);
        var scanSeconds = time.GetElapsedTime(scanStarted).TotalSeconds;
        await log.DisposeAsync();
        var stored = all.Length + 50;
        if (scanned != stored)
        {
            throw new InvalidOperationException($"{design}: {stored} records acknowledged, {scanned} read back");
        }

        var disk = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Directory.Delete(directory, recursive: true);
        return new RunResult(design, all.Length, seconds, all, cpu, disk * all.Length / stored, scanSeconds * all.Length / stored)
        {
            MegabytesPerSecond = all.Length * (double)record.Length / seconds / 1e6,
        };
    }
}
