using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Hubgate.Storage;

// Used only by `dotnet ef migrations add`; the connection strings are never opened.
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteHubgateDbContext>
{
    public SqliteHubgateDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteHubgateDbContext>().UseSqlite("Data Source=design.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresHubgateDbContext>
{
    public PostgresHubgateDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresHubgateDbContext>().UseNpgsql("Host=localhost;Database=design").Options);
}
