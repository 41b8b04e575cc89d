namespace Hubgate.Storage;

/// <summary>Configuration section <c>Database</c>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Database";

    /// <summary><c>Database:Provider</c>: <c>Sqlite</c> (default) or <c>Postgres</c>.</summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary><c>Database:MigrateOnStartup</c>: apply migrations when the service starts (default true).</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>
    /// <c>ConnectionStrings:Hubgate</c>. Defaults for SQLite to <c>Data Source=&lt;DataDirectory&gt;/hubgate.db</c>
    /// (<c>Hubgate:DataDirectory</c>); required for PostgreSQL.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The data directory (<c>Hubgate:DataDirectory</c>, default the user's application-data folder + <c>hubgate</c>) when
    /// the database is in it — SQLite without <c>ConnectionStrings:Hubgate</c> —, else null. Created owner-only before
    /// the database is opened.
    /// </summary>
    public string? DataDirectory { get; internal set; }
}

/// <summary>The database Hubgate stores its state in (<c>Database:Provider</c>).</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file (the default).</summary>
    Sqlite,

    /// <summary>PostgreSQL: required for several replicas.</summary>
    Postgres,
}
