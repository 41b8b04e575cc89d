namespace Hubgate.Server.Cli;

/// <summary>Splits the command line between the service (no command, or <c>serve</c>) and operator commands.</summary>
internal static class HubgateCommand
{
    private static readonly HashSet<string> Commands = new(StringComparer.Ordinal) { };

    /// <summary>When the first argument names an operator command, starts it and returns its exit-code task.</summary>
    public static bool TryGetCommand(string[] args, out Task<int> run)
    {
        run = Task.FromResult(0);
        if (args.Length == 0 || !Commands.Contains(args[0]))
        {
            return false;
        }

        run = Task.FromResult(0);
        return true;
    }

    /// <summary>The arguments the web host sees: everything but a leading <c>serve</c>.</summary>
    public static string[] ServeArguments(string[] args) =>
        args.Length > 0 && args[0] == "serve" ? args[1..] : args;
}
