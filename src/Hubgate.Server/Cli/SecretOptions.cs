using System.CommandLine;

namespace Hubgate.Server.Cli;

/// <summary>A secret given inline (<c>--secret</c>) or, kept out of the process list, in a file (<c>--secret-file</c>).</summary>
internal static class SecretOptions
{
    /// <summary>
    /// The secret from <paramref name="inline"/> or <paramref name="file"/> (a trailing newline ignored), null when
    /// neither is given; false (with the reason on stderr) when both are given or the file cannot be read.
    /// </summary>
    public static async Task<(bool Ok, string? Secret)> ReadAsync(ParseResult parse, Option<string?> inline, Option<FileInfo?> file,
        CancellationToken cancellationToken)
    {
        var secret = parse.GetValue(inline);
        if (parse.GetValue(file) is not { } path)
        {
            return (true, secret);
        }

        var error = parse.InvocationConfiguration.Error;
        if (secret is not null)
        {
            await error.WriteLineAsync($"hubgate: give {inline.Name} or {file.Name}, not both.");
            return (false, null);
        }

        try
        {
            return (true, (await File.ReadAllTextAsync(path.FullName, cancellationToken)).TrimEnd('\r', '\n'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync($"hubgate: cannot read {file.Name}: {e.Message}");
            return (false, null);
        }
    }
}
