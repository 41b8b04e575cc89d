using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Hubgate.Server.Tests.Packages;

/// <summary>
/// The repository's packages as a user gets them: every project under <c>src/</c> that packs, packed from the build the
/// tests run on into a folder of its own, with a version no earlier run used (so NuGet's global packages folder cannot
/// serve a stale copy); and the <c>dotnet</c> commands that pack and build against them, each bounded in time. The
/// versions it put in the global packages folder are removed again on dispose.
/// </summary>
internal sealed partial class LocalPackages : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    private LocalPackages(string root, string version)
    {
        Root = root;
        Version = version;
    }

    /// <summary>The temporary folder holding the feed and anything built from it.</summary>
    public string Root { get; }

    /// <summary>The folder of packages (<c>*.nupkg</c>).</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>This run's package version: the repository's version with a prerelease part of its own.</summary>
    public string Version { get; }

    /// <summary>The repository's root (where Hubgate.slnx is).</summary>
    public static string Repository { get; } = FindRepository();

    /// <summary>Debug or Release: the configuration the tests (and so the projects packed) were built in.</summary>
    public static string Configuration { get; } =
        Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)))!;

    /// <summary>Packs every packable project under <c>src/</c> (without building it again) into a new feed.</summary>
    public static async Task<LocalPackages> PackAsync()
    {
        var baseVersion = VersionProperty().Match(await File.ReadAllTextAsync(Path.Combine(Repository, "Directory.Build.props"))) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException("No <Version> in Directory.Build.props.");
        var packages = new LocalPackages(Directory.CreateTempSubdirectory("hubgate-packages-").FullName,
            $"{baseVersion}-test.{Guid.NewGuid():N}");
        foreach (var project in Directory.EnumerateFiles(Path.Combine(Repository, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // A project that does not pack (the server) is passed over by `dotnet pack` itself.
            await RunAsync(Repository, "pack", project, "--no-build", "--configuration", Configuration,
                "--output", packages.Feed, $"-p:PackageVersion={packages.Version}");
        }

        return packages;
    }

    /// <summary>
    /// Runs <c>dotnet <paramref name="args"/></c> in <paramref name="directory"/> and waits for it (5 minutes at most):
    /// throws with its output unless it exits with 0. Build servers are off, so nothing it starts outlives it.
    /// </summary>
    public static async Task<string> RunAsync(string directory, params string[] args)
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
        DotnetEnvironment(start);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {CommandTimeout.TotalMinutes} minutes.");
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
    internal static void DotnetEnvironment(ProcessStartInfo start)
    {
        start.Environment.Remove("XDG_DATA_HOME");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
    }

    public void Dispose()
    {
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Directory.Exists(Feed) ? Directory.EnumerateFiles(Feed, "*.nupkg") : [])
        {
            var id = Path.GetFileName(package)[..^(Version.Length + ".nupkg".Length + 1)].ToLowerInvariant();
            var extracted = Path.Combine(globalPackages, id, Version.ToLowerInvariant());
            if (Directory.Exists(extracted))
            {
                Directory.Delete(extracted, recursive: true);
            }
        }

        Directory.Delete(Root, recursive: true);
    }

    private static string FindRepository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Hubgate.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Hubgate.slnx above {AppContext.BaseDirectory}: run the tests from the repository.");
    }

    [GeneratedRegex(@"<Version>([^<]+)</Version>")]
    private static partial Regex VersionProperty();
}
