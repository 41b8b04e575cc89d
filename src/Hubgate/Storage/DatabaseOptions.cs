namespace Hubgate.Storage;

/// <summary>Configuration section <c>Database</c>.</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary><c>Database:Provider</c>: <c>Sqlite</c> (default) or <c>Postgres</c>.</summary>
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary><c>Database:MigrateOnStartup</c>: apply migrations when the service starts (default true).</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>
    /// <c>ConnectionStrings:Hubgate</c>. Defaults to <c>Data Source=hubgate.db</c> beside the app for SQLite;
    /// required for PostgreSQL.
    /// </summary>
    public string? ConnectionString { get; set; }
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}
