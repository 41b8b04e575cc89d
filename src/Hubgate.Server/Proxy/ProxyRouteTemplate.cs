namespace Hubgate.Server.Proxy;

/// <summary>
/// A proxied path as a metric label of bounded cardinality: <c>/repos/{owner}/{repo}/pulls</c>, <c>/app/installations/{id}</c>.
/// Owners, repositories, organizations and users become placeholders, so do ids and anything that is not a lowercase
/// resource name; past four segments the rest is <c>…</c>.
/// </summary>
internal static class ProxyRouteTemplate
{
    private const int MaxSegments = 4;

    public static string Of(string path)
    {
        var trimmed = path.Trim('/');
        if (trimmed.Length == 0)
        {
            return "/";
        }

        var segments = trimmed.Split('/');
        var count = Math.Min(segments.Length, MaxSegments);
        var parts = new string[count];
        for (var i = 0; i < count; i++)
        {
            parts[i] = Template(segments, i);
        }

        return "/" + string.Join('/', parts) + (segments.Length > MaxSegments ? "/…" : string.Empty);
    }

    private static string Template(string[] segments, int i) => (segments[0], i) switch
    {
        ("repos", 1) => "{owner}",
        ("repos", 2) => "{repo}",
        ("orgs" or "users" or "enterprises", 1) => "{name}",
        _ when long.TryParse(segments[i], out _) => "{id}",
        _ when IsResourceName(segments[i]) => segments[i],
        _ => "{value}",
    };

    private static bool IsResourceName(string segment) =>
        segment.Length is > 0 and <= 32 && segment.All(c => c is (>= 'a' and <= 'z') or '_' or '-');
}
