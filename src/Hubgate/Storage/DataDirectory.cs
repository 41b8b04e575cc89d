using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Storage;

/// <summary>
/// <c>Hubgate:DataDirectory</c>: where Hubgate keeps its state — the default SQLite database, and with it the Data
/// Protection key ring that encrypts the stored tokens. By default the user's application-data folder + <c>hubgate</c>
/// (<c>$XDG_DATA_HOME/hubgate</c>, else <c>~/.local/share/hubgate</c> on Linux; <c>~/Library/Application Support/hubgate</c>
/// on macOS; <c>%LOCALAPPDATA%\hubgate</c> on Windows), not the build output, where a clean or another configuration
/// would lose or fork it. Created owner-only (0700) on first use; one that others may read or write is refused.
/// </summary>
internal static class DataDirectory
{
    public const string ConfigurationKey = "Hubgate:DataDirectory";

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // Search (execute) alone lets others reach a file by name, and every file in it is owner-only: not refused.
    private const UnixFileMode ReadOrWriteByOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>The configured directory, or the default under <paramref name="localApplicationData"/> (the current user's by default).</summary>
    /// <exception cref="OptionsValidationException">Neither is known (no home folder).</exception>
    public static string Resolve(IConfiguration configuration, string? localApplicationData = null)
    {
        var configured = configuration[ConfigurationKey];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured);
        }

        // DoNotVerify: on a fresh machine ~/.local/share may not exist yet, and the default would be "" otherwise.
        localApplicationData ??= Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(localApplicationData)
            ? throw new OptionsValidationException(ConfigurationKey, typeof(DatabaseOptions),
                [$"{ConfigurationKey} is not set and this user has no application-data folder (HOME is not set): set {ConfigurationKey} to a folder for Hubgate's database, or ConnectionStrings:Hubgate."])
            : Path.Combine(localApplicationData, "hubgate");
    }

    /// <summary>How <c>hubgate check</c> and the start-up line name the directory.</summary>
    public static string Describe(string path) => OperatingSystem.IsWindows() ? path : $"{path} (owner-only)";

    /// <summary>
    /// Creates <paramref name="path"/> owner-only when it does not exist, and checks that this user can write in it and,
    /// on Unix, that no one else may read or write it (the database in it holds the key ring).
    /// </summary>
    /// <exception cref="DataDirectoryException">It cannot be created or written, or others may read or write it; the message names the key.</exception>
    public static void Prepare(string path)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, OwnerOnly);
                var mode = File.GetUnixFileMode(path);
                if ((mode & ReadOrWriteByOthers) != 0)
                {
                    throw new DataDirectoryException($"{ConfigurationKey} {path} may be read or written by other users (mode {Octal(mode)}), " +
                        $"and the database in it holds the key that decrypts Hubgate's stored tokens: run `chmod 700 {path}`, or set {ConfigurationKey} to another folder.");
                }
            }

            // Writable by this user: SQLite creates the database and its -wal and -shm files beside it.
            var probe = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.DeleteOnClose };
            if (!OperatingSystem.IsWindows())
            {
                probe.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var written = new FileStream(Path.Combine(path, $".hubgate-write-check-{Guid.NewGuid():N}"), probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not DataDirectoryException)
        {
            throw new DataDirectoryException($"{ConfigurationKey} {path} cannot be created or written: {e.Message} " +
                $"Set {ConfigurationKey} to a folder this user may write (or ConnectionStrings:Hubgate).", e);
        }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}

/// <summary>The data directory (<c>Hubgate:DataDirectory</c>) cannot be used; the message names the key and the path.</summary>
public sealed class DataDirectoryException(string message, Exception? inner = null) : HubgateConfigurationException(message, inner);
