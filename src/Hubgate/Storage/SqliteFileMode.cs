using Microsoft.Data.Sqlite;

namespace Hubgate.Storage;

/// <summary>
/// The SQLite file holds the webhook inbox and the (encrypted) tokens: on Unix it is created readable and writable by
/// its owner only (0600), and an existing file (with its <c>-wal</c>, <c>-shm</c> and <c>-journal</c>) is brought down
/// to that mode. SQLite creates the <c>-wal</c> and <c>-shm</c> files with the mode of the database file.
/// </summary>
internal static class SqliteFileMode
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The full path of the database file <paramref name="connectionString"/> names; null for an in-memory database.</summary>
    public static string? FilePath(string? connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        return builder.Mode == SqliteOpenMode.Memory || string.IsNullOrEmpty(builder.DataSource) || builder.DataSource == ":memory:"
            ? null
            : Path.GetFullPath(builder.DataSource);
    }

    /// <summary>
    /// Creates <paramref name="directory"/> readable, writable and searchable by its owner only (0700), or brings an
    /// existing one down to that mode (Unix): what is inside is as private as the database file.
    /// </summary>
    public static void CreateOwnerOnlyDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;
        var created = Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        if ((created.UnixFileMode & ~OwnerOnlyDirectory) != 0)
        {
            created.UnixFileMode &= OwnerOnlyDirectory;
        }
    }

    public static void RestrictToOwner(string? connectionString)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (FilePath(connectionString) is not { } path)
        {
            return;
        }

        if (!File.Exists(path) && Directory.Exists(Path.GetDirectoryName(path)))
        {
            try
            {
                // An empty file is an empty database to SQLite, which keeps the file's mode.
                using var created = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly });
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created by another process in the meantime: its mode is set below.
            }
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & ~OwnerOnly) != 0)
            {
                File.SetUnixFileMode(file, File.GetUnixFileMode(file) & OwnerOnly);
            }
        }
    }
}
