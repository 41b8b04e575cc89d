using System.Text.RegularExpressions;

namespace Hubgate.Server.Tests.Docs;

/// <summary>One configuration key as a page writes it, with its line.</summary>
/// <param name="InFirstColumn">Whether the key is in the first cell of a table row: the row that documents it.</param>
internal sealed record DocumentedKey(string Written, IReadOnlyList<string> Segments, int Line, bool InFirstColumn);

/// <summary>
/// The configuration keys a documentation page names. The convention the pages follow: a key is written in full from
/// its section, <c>Section:Key</c> (<c>GitHub:Apps:{name}:AppId</c>, <c>Webhooks:MaxAttempts</c>), or as an
/// environment variable, <c>Section__Key</c> (<c>Hubgate__Clients__ci__Installations__0=42</c>); a name you choose is
/// written <c>{name}</c>, <c>NAME</c> or as an example (<c>ci</c>); <c>/ `:Other`</c> right after a key names its
/// sibling; a key ending in <c>*</c> or <c>…</c> means everything below. Only sections Hubgate knows are looked at,
/// and only when the section's name is followed at once by <c>:</c> or <c>__</c> and a name (so prose such as
/// "on GitHub: Settings" is not a key).
/// </summary>
internal static partial class DocumentedKeys
{
    public static IReadOnlyList<DocumentedKey> Find(string markdown, IEnumerable<string> sections)
    {
        var roots = string.Join('|', sections.Select(Regex.Escape));
        var colonForm = new Regex($@"(?<![\w.$@/])(?:{roots})(?::(?:\{{[^}}\s]+\}}|[A-Za-z0-9_-]+|\*|…))+", RegexOptions.CultureInvariant);
        var environmentForm = new Regex($@"(?<![\w.@/])(?:{roots})(?:__[A-Za-z0-9{{}}-]+)+", RegexOptions.CultureInvariant);

        var keys = new List<DocumentedKey>();
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var firstCellEnds = line.StartsWith('|') ? line.IndexOf('|', 1) : -1;
            foreach (Match match in colonForm.Matches(line))
            {
                var segments = match.Value.Split(':');
                keys.Add(new DocumentedKey(match.Value, segments, i + 1, match.Index < firstCellEnds));

                // `A:B:C` / `:D` / `:E` names A:B:D and A:B:E too.
                var at = match.Index + match.Length;
                for (var sibling = Sibling().Match(line, at); sibling.Success && sibling.Index == at; sibling = Sibling().Match(line, at))
                {
                    string[] siblingSegments = [.. segments[..^1], sibling.Groups["name"].Value];
                    keys.Add(new DocumentedKey(string.Join(':', siblingSegments), siblingSegments, i + 1, sibling.Index < firstCellEnds));
                    at = sibling.Index + sibling.Length - 1;
                }
            }

            foreach (Match match in environmentForm.Matches(line))
            {
                keys.Add(new DocumentedKey(match.Value, match.Value.Split("__"), i + 1, match.Index < firstCellEnds));
            }
        }

        return keys;
    }

    [GeneratedRegex(@"`\s*/\s*`:(?<name>[A-Za-z0-9_]+)`")]
    private static partial Regex Sibling();
}
