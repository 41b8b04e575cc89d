using System.Runtime.CompilerServices;
using System.Text.Json;
using Hubgate.Authentication;

namespace Hubgate.Rest;

/// <summary>
/// Follows GitHub's <c>Link: &lt;…&gt;; rel="next"</c> header page by page and yields the items one at a time, so a
/// caller can stop early and never holds more than one page in memory.
/// </summary>
public static class GitHubPagination
{
    /// <summary>The default bound on pages fetched by one enumeration (100 items a page: 100,000 items).</summary>
    public const int DefaultMaxPages = 1000;

    /// <summary>
    /// Every item of a paged list. The page is either a JSON array (<c>/app/installations</c>) or an object holding one
    /// (<c>/installation/repositories</c> → <c>repositories</c>); <paramref name="itemsProperty"/> names it, or the
    /// first array-valued property is used.
    /// </summary>
    /// <exception cref="GitHubApiException">GitHub answered a page with an error status.</exception>
    public static async IAsyncEnumerable<JsonElement> GetAllAsync(
        this HttpClient client,
        Uri requestUri,
        string? itemsProperty = null,
        int maxPages = DefaultMaxPages,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(requestUri);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPages, 1);

        Uri? next = requestUri;
        for (var page = 1; next is not null; page++)
        {
            if (page > maxPages)
            {
                throw new InvalidOperationException($"Stopped after {maxPages} pages of {requestUri}: GitHub kept answering with a next page.");
            }

            using var response = await client.GetAsync(next, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new GitHubApiException(
                    $"GitHub answered {(int)response.StatusCode} for page {page} of {requestUri}.", response.StatusCode);
            }

            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                foreach (var item in Items(document.RootElement, itemsProperty, requestUri).EnumerateArray())
                {
                    yield return item.Clone();
                }
            }

            next = NextLink(response, next);
        }
    }

    /// <summary>Every item of a paged list, deserialized as <typeparamref name="T"/>.</summary>
    public static async IAsyncEnumerable<T> GetAllAsync<T>(
        this HttpClient client,
        Uri requestUri,
        JsonSerializerOptions? options = null,
        string? itemsProperty = null,
        int maxPages = DefaultMaxPages,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= JsonSerializerOptions.Web;
        await foreach (var item in client.GetAllAsync(requestUri, itemsProperty, maxPages, cancellationToken).ConfigureAwait(false))
        {
            yield return item.Deserialize<T>(options)!;
        }
    }

    /// <summary>The <c>rel="next"</c> target of a <c>Link</c> header, or null on the last page.</summary>
    public static Uri? NextLink(HttpResponseMessage response, Uri? current = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var part in value.Split(','))
            {
                var segments = part.Split(';');
                var target = segments[0].Trim();
                if (target.Length < 2 || target[0] != '<' || target[^1] != '>')
                {
                    continue;
                }

                for (var i = 1; i < segments.Length; i++)
                {
                    var parameter = segments[i].Trim();
                    if (parameter.Equals("rel=\"next\"", StringComparison.OrdinalIgnoreCase) || parameter.Equals("rel=next", StringComparison.OrdinalIgnoreCase))
                    {
                        var link = target[1..^1];
                        return current is not null && current.IsAbsoluteUri ? new Uri(current, link) : new Uri(link, UriKind.RelativeOrAbsolute);
                    }
                }
            }
        }

        return null;
    }

    private static JsonElement Items(JsonElement root, string? itemsProperty, Uri requestUri)
    {
        if (root.ValueKind == JsonValueKind.Array && itemsProperty is null)
        {
            return root;
        }

        if (root.ValueKind == JsonValueKind.Object)
        {
            if (itemsProperty is not null && root.TryGetProperty(itemsProperty, out var named) && named.ValueKind == JsonValueKind.Array)
            {
                return named;
            }

            if (itemsProperty is null)
            {
                foreach (var property in root.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.Array)
                    {
                        return property.Value;
                    }
                }
            }
        }

        throw new GitHubApiException(
            $"A page of {requestUri} holds no list{(itemsProperty is null ? string.Empty : $" named '{itemsProperty}'")}; is it a paged endpoint?");
    }
}
