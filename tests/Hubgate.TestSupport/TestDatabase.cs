using Hubgate.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.TestSupport;

/// <summary>
/// Which database a test run uses: SQLite (default) or PostgreSQL when <c>HUBGATE_TEST_DATABASE=postgres</c> — test.sh
/// runs the suite once each way. A test's database belongs to a folder of its own: the same folder gives the same
/// database again (a "restart"), on SQLite as a file in it, on PostgreSQL as a database named after it in
/// <see cref="ThrowawayPostgres.Shared"/>.
/// </summary>
public static class TestDatabase
{
    public const string Variable = "HUBGATE_TEST_DATABASE";

    public static bool IsPostgres =>
        string.Equals(Environment.GetEnvironmentVariable(Variable), "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <c>Database:Provider</c> and <c>ConnectionStrings:Hubgate</c> for the database of <paramref name="directory"/>.
    /// With <paramref name="migrated"/> (for a caller that migrates at start anyway), a new PostgreSQL database is a copy
    /// of one migrated once per test process (<see cref="ThrowawayPostgres.MigratedTemplate"/>), so the migrations are
    /// not applied again for every test; without, it is empty, as a test of migrations or of an unmigrated database needs.
    /// </summary>
    public static Dictionary<string, string?> Settings(string directory, bool migrated = false)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (IsPostgres)
        {
            settings["Database:Provider"] = "Postgres";
            var server = ThrowawayPostgres.Shared;
            settings["ConnectionStrings:Hubgate"] = server.CreateDatabase(NameOf(directory), migrated ? server.MigratedTemplate(MigrateAsync) : null);
        }
        else
        {
            settings["Database:Provider"] = "Sqlite";
            settings["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(directory, "hubgate.db")}";
        }

        return settings;
    }

    /// <summary>Brings the PostgreSQL database at <paramref name="connectionString"/> to this build's schema, as a server does at start.</summary>
    private static async Task MigrateAsync(string connectionString)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Postgres",
            ["ConnectionStrings:Hubgate"] = connectionString,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddHubgateStorage(configuration).BuildServiceProvider();
        await using (services)
        {
            await services.MigrateHubgateDatabaseAsync();
        }
    }

    /// <summary>
    /// A guard, called once when a test assembly loads: points the user's application-data folder (XDG_DATA_HOME, which
    /// the default <c>Hubgate:DataDirectory</c> is under) at a path that cannot be created, inherited by the server
    /// processes tests start. A test that forgets to give its own database (<see cref="Settings"/>, or a
    /// <c>Hubgate:DataDirectory</c> or XDG_DATA_HOME of its own) fails naming <c>Hubgate:DataDirectory</c>, rather
    /// than writing into the real user's home or sharing one database with other tests.
    /// </summary>
    public static void KeepOutOfTheUsersHome()
    {
        if (!OperatingSystem.IsWindows())
        {
            Environment.SetEnvironmentVariable("XDG_DATA_HOME", "/dev/null/tests-give-each-hubgate-its-own-database");
        }
    }

    /// <summary>Drops the PostgreSQL database of <paramref name="directory"/> (SQLite's file goes with the folder).</summary>
    public static void Delete(string directory)
    {
        if (IsPostgres)
        {
            ThrowawayPostgres.Shared.DropDatabase(NameOf(directory));
        }
    }

    private static string NameOf(string directory) =>
        "hg_" + new string([.. Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)).ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)]);
}
