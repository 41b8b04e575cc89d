using System.Text.RegularExpressions;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Packages;

/// <summary>
/// The repository's packages as a user gets them: every project under <c>src/</c> that packs, packed from the build the
/// tests run on into a folder of its own, with a version no earlier run used (so NuGet's global packages folder cannot
/// serve a stale copy). The
/// versions it put in the global packages folder are removed again on dispose.
/// </summary>
internal sealed partial class LocalPackages : IDisposable
{
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

    /// <summary>Debug or Release: the configuration the tests (and so the projects packed) were built in.</summary>
    public static string Configuration { get; } =
        Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)))!;

    /// <summary>Packs every packable project under <c>src/</c> (without building it again) into a new feed.</summary>
    public static async Task<LocalPackages> PackAsync()
    {
        var baseVersion = VersionProperty().Match(await File.ReadAllTextAsync(Path.Combine(Checkout.Root, "Directory.Build.props"))) is { Success: true } m
            ? m.Groups[1].Value
            : throw new InvalidOperationException("No <Version> in Directory.Build.props.");
        var packages = new LocalPackages(Directory.CreateTempSubdirectory("hubgate-packages-").FullName,
            $"{baseVersion}-test.{Guid.NewGuid():N}");
        foreach (var project in Directory.EnumerateFiles(Path.Combine(Checkout.Root, "src"), "*.csproj", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            // A project that does not pack (the server) is passed over by `dotnet pack` itself.
            await DotnetCommand.RunAsync(Checkout.Root, "pack", project, "--no-build", "--configuration", Configuration,
                "--output", packages.Feed, $"-p:PackageVersion={packages.Version}");
        }

        return packages;
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

    [GeneratedRegex(@"<Version>([^<]+)</Version>")]
    private static partial Regex VersionProperty();
}
