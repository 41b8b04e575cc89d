using Hubgate.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Storage;

public sealed class DatabaseOptionsTests
{
    [Fact]
    public void ReadOptions_NothingConfigured_DefaultsToSqliteFileInTheUsersApplicationDataFolder()
    {
        // Only resolved here (nothing is created): the folder of the user running the tests.
        var expected = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify), "hubgate");

        var options = StorageServiceCollectionExtensions.ReadOptions(new ConfigurationBuilder().Build());

        Assert.Equal(DatabaseProvider.Sqlite, options.Provider);
        Assert.Equal(expected, options.DataDirectory);
        Assert.Equal($"Data Source={Path.Combine(expected, "hubgate.db")}", options.ConnectionString);
        Assert.DoesNotContain(AppContext.BaseDirectory, options.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void DataDirectory_NotConfigured_IsHubgateUnderTheApplicationDataFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "somebody", ".local", "share");

        Assert.Equal(Path.Combine(folder, "hubgate"), DataDirectory.Resolve(new ConfigurationBuilder().Build(), folder));
    }

    [Fact]
    public void DataDirectory_NoApplicationDataFolder_FailsNamingTheKey()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => DataDirectory.Resolve(new ConfigurationBuilder().Build(), localApplicationData: ""));

        Assert.Contains("Hubgate:DataDirectory", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadOptions_DataDirectorySet_TheDatabaseIsInIt()
    {
        var directory = Path.Combine(Path.GetTempPath(), "hubgate-data-" + Guid.NewGuid().ToString("N"));

        var options = StorageServiceCollectionExtensions.ReadOptions(Configuration(new() { ["Hubgate:DataDirectory"] = directory }));

        Assert.Equal(directory, options.DataDirectory);
        Assert.Equal($"Data Source={Path.Combine(directory, "hubgate.db")}", options.ConnectionString);
        Assert.False(Directory.Exists(directory)); // created when the database is opened, not when options are read
    }

    [Fact]
    public void ReadOptions_ConnectionStringSet_WinsOverTheDataDirectory()
    {
        var options = StorageServiceCollectionExtensions.ReadOptions(Configuration(new()
        {
            ["Hubgate:DataDirectory"] = Path.Combine(Path.GetTempPath(), "unused"),
            ["ConnectionStrings:Hubgate"] = "Data Source=/srv/hubgate/hubgate.db",
        }));

        Assert.Equal("Data Source=/srv/hubgate/hubgate.db", options.ConnectionString);
        Assert.Null(options.DataDirectory);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    [Fact]
    public void ReadOptions_PostgresWithoutConnectionString_FailsNamingTheKey()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Provider"] = "Postgres" })
            .Build();

        var ex = Assert.Throws<OptionsValidationException>(() => StorageServiceCollectionExtensions.ReadOptions(configuration));

        Assert.Contains("ConnectionStrings:Hubgate", ex.Message, StringComparison.Ordinal);
    }
}
