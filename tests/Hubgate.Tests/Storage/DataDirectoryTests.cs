using Hubgate.Storage;

namespace Hubgate.Tests.Storage;

/// <summary><c>Hubgate:DataDirectory</c> on disk: created owner-only, refused when others may read or write it or it cannot be made.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hubgate-datadir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Prepare_Missing_CreatesItWithItsParents_OwnerOnly()
    {
        var path = Path.Combine(_root, "share", "hubgate");

        DataDirectory.Prepare(path);

        Assert.True(Directory.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        Assert.Empty(Directory.EnumerateFileSystemEntries(path)); // the write check leaves nothing behind
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute)] // 0755
    [InlineData(UnixFileMode.GroupRead | UnixFileMode.GroupExecute)] // 0750
    [InlineData(UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)] // 0703
    public void Prepare_ExistingThatOthersMayReadOrWrite_IsRefusedNamingTheKeyAndTheFix(UnixFileMode others)
    {
        var path = Path.Combine(_root, "hubgate");
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | others);

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.Prepare(path));

        Assert.StartsWith($"Hubgate:DataDirectory {path} may be read or written by other users", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod 700 {path}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_ExistingThatOthersMayOnlySearch_IsAccepted()
    {
        var path = Path.Combine(_root, "hubgate");
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);

        DataDirectory.Prepare(path);
    }

    [Fact]
    public void Prepare_UnderAFile_CannotBeCreated_NamesTheKey()
    {
        var file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "not a folder");
        var path = Path.Combine(file, "hubgate");

        var ex = Assert.Throws<DataDirectoryException>(() => DataDirectory.Prepare(path));

        Assert.StartsWith($"Hubgate:DataDirectory {path} cannot be created or written:", ex.Message, StringComparison.Ordinal);
    }
}
