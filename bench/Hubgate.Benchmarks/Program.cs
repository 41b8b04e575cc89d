using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Hubgate.Benchmarks -- --filter '*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point type for BenchmarkSwitcher.</summary>
public partial class Program;
