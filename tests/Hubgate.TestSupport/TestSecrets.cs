using System.Collections.Concurrent;
using System.Text;

namespace Hubgate.TestSupport;

/// <summary>
/// Every secret the test run hands out or configures — installation tokens minted and App JWTs accepted by the fake
/// GitHub, the App's private key, webhook secrets (the fake's own list, <c>IssuedSecrets</c>), API keys — and a scan that fails when one of them turns up where it
/// must never be: captured logs, error bodies, database files. Test hosts scan what they captured when disposed, so the
/// whole suite is scanned as it runs.
/// </summary>
public static class TestSecrets
{
    /// <summary>Shorter values are too likely to occur by chance to mean anything.</summary>
    public const int MinimumLength = 10;

    private static readonly ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);

    /// <summary>How many distinct secrets have been registered so far, the fake GitHub's included (for the reliability report).</summary>
    public static int Count => Known.Count + Hubgate.Testing.IssuedSecrets.All.Count;

    /// <summary>Registers <paramref name="secret"/> as <paramref name="what"/> (for messages: the secret itself is never printed).</summary>
    public static void Register(string? secret, string what)
    {
        if (secret is { Length: >= MinimumLength })
        {
            Known.TryAdd(secret, what);
        }
    }

    /// <summary>A PEM private key: each line of its base64 body is a secret of its own (a partial leak is a leak).</summary>
    public static void RegisterPem(string? pem, string what) => Hubgate.Testing.IssuedSecrets.RegisterPem(pem, what);

    /// <summary>
    /// A key Hubgate generates for a client (<c>hg_</c> + 32 random bytes, base64url): found by its shape, so that a key
    /// made during a test is caught without the test registering it. Only as a whole word: the base64url text of a
    /// Data Protection payload (an encrypted token in the database) holds <c>hg_</c> followed by 43 such characters
    /// about once in a few hundred tokens, and is not a key.
    /// </summary>
    private static readonly System.Text.RegularExpressions.Regex GeneratedClientKey =
        new("(?<![A-Za-z0-9_-])hg_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The descriptions of the registered secrets, and of generated client keys, found in <paramref name="text"/>.</summary>
    public static List<string> FindIn(string text) =>
        [.. Known.Concat(Hubgate.Testing.IssuedSecrets.All).Where(k => text.Contains(k.Key, StringComparison.Ordinal)).Select(k => k.Value)
            .Concat(GeneratedClientKey.IsMatch(text) ? ["a generated client key"] : []).Distinct()];

    /// <summary>
    /// Throws <see cref="SecretLeakException"/> naming what leaked and where, when any registered secret appears in one of
    /// <paramref name="texts"/> or, as UTF-8, in one of <paramref name="files"/> (missing files are skipped).
    /// </summary>
    public static void AssertNoneIn(IEnumerable<(string Where, string Text)> texts, IEnumerable<string> files)
    {
        var findings = new List<string>();
        foreach (var (where, text) in texts)
        {
            findings.AddRange(FindIn(text).Select(what => $"{what} in {where}"));
        }

        foreach (var file in files.Where(File.Exists))
        {
            var content = Encoding.UTF8.GetString(ReadShared(file));
            findings.AddRange(FindIn(content).Select(what => $"{what} in {Path.GetFileName(file)}"));
        }

        if (findings.Count > 0)
        {
            throw new SecretLeakException("Secrets leaked: " + string.Join("; ", findings.Distinct()));
        }
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

/// <summary>A registered secret was found in logs, an error body or a database file.</summary>
public sealed class SecretLeakException(string message) : Exception(message);
