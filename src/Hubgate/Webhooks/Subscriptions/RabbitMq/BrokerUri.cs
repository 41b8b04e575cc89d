using System.Text.RegularExpressions;

namespace Hubgate.Webhooks.Subscriptions.RabbitMq;

/// <summary>A broker URI as it may be shown: its password (a secret) replaced by <c>****</c>, everything else kept.</summary>
internal static partial class BrokerUri
{
    public const string Mask = "****";

    /// <summary><paramref name="uri"/> with the password of its user info masked; null stays null.</summary>
    public static string? Masked(string? uri)
    {
        if (uri is null)
        {
            return null;
        }

        // Done on the text, not through System.Uri, so that a URI that does not parse is masked all the same.
        return UserInfo().Replace(uri, m => m.Groups["scheme"].Value + m.Groups["user"].Value + ":" + Mask + "@", 1);
    }

    /// <summary>The password of <paramref name="uri"/>'s user info (unescaped), or null when it has none.</summary>
    public static string? Password(string? uri)
    {
        if (uri is null)
        {
            return null;
        }

        var match = UserInfo().Match(uri);
        return match.Success ? System.Uri.UnescapeDataString(match.Groups["password"].Value) : null;
    }

    /// <summary><paramref name="text"/> with every occurrence of <paramref name="uri"/>'s password (as written and unescaped) masked.</summary>
    public static string Redact(string text, string? uri)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = uri is null ? Match.Empty : UserInfo().Match(uri);
        if (!match.Success)
        {
            return text;
        }

        var written = match.Groups["password"].Value;
        foreach (var password in new[] { written, System.Uri.UnescapeDataString(written) })
        {
            if (password.Length > 0)
            {
                text = text.Replace(password, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    // scheme://user:password@ — the user info ends at the last '@' before the host.
    [GeneratedRegex("^(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?<user>[^:@/]*):(?<password>[^/]*)@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();
}
