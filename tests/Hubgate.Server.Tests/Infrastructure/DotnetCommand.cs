using System.Diagnostics;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>
/// The <c>dotnet</c> commands the package and publish tests run (pack, build, publish), as a developer's shell would
/// run them and bounded in time. Build servers are off, so nothing a command starts outlives it.
/// </summary>
internal static class DotnetCommand
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Runs <c>dotnet <paramref name="args"/></c> in <paramref name="directory"/> (5 minutes at most); throws with its output unless it exits with 0.</summary>
    public static Task<string> RunAsync(string directory, params string[] args) => RunAsync(directory, DefaultTimeout, args);

    /// <summary>As <see cref="RunAsync(string, string[])"/>, waiting at most <paramref name="timeout"/>.</summary>
    public static async Task<string> RunAsync(string directory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add("--disable-build-servers");
        start.ArgumentList.Add("-nologo");
        start.ArgumentList.Add("-v:quiet");
        ShellEnvironment(start);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout.TotalMinutes} minutes.");
        }

        var text = await output + await error;
        return process.ExitCode == 0
            ? text
            : throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited with {process.ExitCode}:\n{text}");
    }

    /// <summary>
    /// The environment of a developer's shell, not of this test process: the test assembly points XDG_DATA_HOME at
    /// nothing to keep Hubgate out of the user's home, which NuGet would take for its own caches; MSBuild variables
    /// set by the test host would steer the child build.
    /// </summary>
    public static void ShellEnvironment(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.Environment.Remove("XDG_DATA_HOME");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
    }
}
