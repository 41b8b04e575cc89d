using System.Collections.Concurrent;

namespace Hubgate.Testing;

/// <summary>
/// Every secret a fake handed out in this process — App keys, webhook and client secrets, installation tokens, App JWTs
/// it accepted — with what each is, so that a test run can look for them where they must never appear (logs, error
/// bodies, database files). The values are never printed.
/// </summary>
internal static class IssuedSecrets
{
    /// <summary>Shorter values are too likely to occur by chance to mean anything.</summary>
    public const int MinimumLength = 10;

    private static readonly ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);

    /// <summary>The secrets and what each one is.</summary>
    public static IReadOnlyDictionary<string, string> All => Known;

    public static void Register(string? secret, string what)
    {
        if (secret is { Length: >= MinimumLength })
        {
            Known.TryAdd(secret, what);
        }
    }

    /// <summary>A PEM private key: each line of its base64 body is a secret of its own (a partial leak is a leak).</summary>
    public static void RegisterPem(string? pem, string what)
    {
        if (pem is null)
        {
            return;
        }

        foreach (var line in pem.Replace("\\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!line.StartsWith("-----", StringComparison.Ordinal) && line.Length >= 40)
            {
                Register(line, what);
            }
        }
    }
}
