using Hubgate.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Tests.Storage;

public sealed class DatabaseOptionsTests
{
    [Fact]
    public void ReadOptions_NothingConfigured_DefaultsToSqliteFileBesideTheApp()
    {
        var options = StorageServiceCollectionExtensions.ReadOptions(new ConfigurationBuilder().Build());

        Assert.Equal(DatabaseProvider.Sqlite, options.Provider);
        Assert.Contains(Path.Combine(AppContext.BaseDirectory, "hubgate.db"), options.ConnectionString, StringComparison.Ordinal);
    }

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
