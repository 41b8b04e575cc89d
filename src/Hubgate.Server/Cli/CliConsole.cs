using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Hubgate.Server.Cli;

/// <summary>Output for people (Spectre.Console tables, colour only on a terminal) and for scripts (JSON).</summary>
internal static class CliConsole
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Whether the command writes to an interactive terminal (not a pipe, a file or a test's writer).</summary>
    public static bool IsTerminal(ParseResult parse) =>
        ReferenceEquals(parse.InvocationConfiguration.Output, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>A console writing to the command's output; plain text when that is not a terminal (pipes, tests).</summary>
    public static IAnsiConsole For(ParseResult parse)
    {
        var output = parse.InvocationConfiguration.Output;
        var terminal = IsTerminal(parse);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // Piped into grep or a file: whole lines (ids unbroken) rather than an 80-column wrap.
            console.Profile.Width = 240;
        }

        return console;
    }

    public static void WriteJson<T>(ParseResult parse, T value) =>
        parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(value, Json));
}
