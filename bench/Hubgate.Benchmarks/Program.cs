using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Hubgate.Benchmarks -- --filter '*' [--job short]
// dotnet run -c Release --project bench/Hubgate.Benchmarks -- processing [pushes]
if (args.Length > 0 && args[0] == "processing")
{
    return await ProcessingLoad.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 500);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
