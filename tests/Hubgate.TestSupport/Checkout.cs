namespace Hubgate.TestSupport;

/// <summary>The checkout the tests were built from: the folder holding Hubgate.slnx, found once by walking up from the test binaries.</summary>
public static class Checkout
{
    private static readonly Lazy<string> FoundRoot = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Hubgate.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Hubgate.slnx above {AppContext.BaseDirectory}: run the tests from the repository.");
    });

    /// <summary>The repository's root.</summary>
    public static string Root => FoundRoot.Value;
}
