using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Hubgate.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project bench/Hubgate.Benchmarks -- processing [pushes] [--postgres] [--replicas N]
// dotnet run -c Release --project bench/Hubgate.Benchmarks -- inbox [seconds] [writers]
if (args.Length > 0 && args[0] == "inbox")
{
    int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : fallback;
    return await InboxLoad.RunAsync(Arg(1, 10), Arg(2, 32));
}

if (args.Length > 0 && args[0] == "processing")
{
    var pushes = args.Length > 1 && int.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 500;
    var replicas = Array.IndexOf(args, "--replicas") is var at and >= 0 && at + 1 < args.Length
        ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture)
        : 0;
    return await ProcessingLoad.RunAsync(pushes, args.Contains("--postgres"), replicas);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
