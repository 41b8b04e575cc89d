using Microsoft.Data.Sqlite;
using Npgsql;

namespace Hubgate.Storage;

/// <summary>Provider-neutral readings of database exceptions.</summary>
internal static class DatabaseErrors
{
    /// <summary>
    /// Whether <paramref name="exception"/> (or one it wraps) is a unique or primary-key violation: the sign that
    /// another worker inserted the same row first.
    /// </summary>
    public static bool IsUniqueViolation(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException { SqlState: PostgresErrorCodes.UniqueViolation }:
                case SqliteException { SqliteExtendedErrorCode: 2067 or 1555 }: // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
                    return true;
            }
        }

        return false;
    }
}
