using Hubgate.Server.Tests.Infrastructure;
using static Hubgate.Server.Tests.Access.ClientHosts;

namespace Hubgate.Server.Tests.Storage;

/// <summary>The SQLite database, its -wal and -shm files are readable and writable by their owner only (Unix; the suite runs on Linux).</summary>
[Trait("Database", "Sqlite")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SqliteFileModeTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly HubgateApplication _app = new(new Dictionary<string, string?> { ["Hubgate:ApiKey"] = AdminKey, ["Webhooks:RunWorker"] = "false" });

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task TheDatabaseFiles_AreCreatedReadableByTheOwnerOnly()
    {
        await AddAsync(_app, new { name = "deploy" }); // a write through the service

        // SQLite deletes -wal and -shm when the last connection closes; a reader of our own keeps them there (SQLite
        // creates them with the database file's mode, which is what is checked).
        using var reader = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_app.DatabasePath};Pooling=False");
        reader.Open();
        using (var read = reader.CreateCommand())
        {
            read.CommandText = "SELECT count(*) FROM clients";
            Assert.Equal(1L, read.ExecuteScalar());
        }

        foreach (var file in new[] { _app.DatabasePath, _app.DatabasePath + "-wal", _app.DatabasePath + "-shm" })
        {
            Assert.True(File.Exists(file), $"{file} is missing");
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(file));
        }
    }
}
