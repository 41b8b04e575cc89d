using System.Text.Json.Nodes;

namespace Hubgate.Testing;

/// <summary>
/// Payloads GitHub sent (octokit/webhooks, MIT), embedded in the assembly: every field of the real shape, which the
/// fake's payload builders then fill from its own state.
/// </summary>
internal static class PayloadTemplates
{
    /// <summary>A fresh copy of the template for <paramref name="event"/> (<c>push</c>, <c>installation</c>, <c>pull_request</c>).</summary>
    public static JsonObject Load(string @event)
    {
        using var stream = typeof(PayloadTemplates).Assembly.GetManifestResourceStream($"Payloads.{@event}.json")
            ?? throw new InvalidOperationException($"No embedded payload template for '{@event}'.");
        return JsonNode.Parse(stream)!.AsObject();
    }

    /// <summary>Writes <paramref name="repository"/> onto the payload's <c>repository</c> object and returns it.</summary>
    public static JsonObject SetRepository(JsonObject payload, FakeRepository repository)
    {
        var json = payload["repository"]!.AsObject();
        json["id"] = repository.Id;
        json["node_id"] = "R_kgDO" + repository.Id;
        json["name"] = repository.Name;
        json["full_name"] = repository.FullName;
        json["private"] = repository.Private;
        json["visibility"] = repository.Private ? "private" : "public";
        json["default_branch"] = repository.DefaultBranch;
        json["html_url"] = "https://github.com/" + repository.FullName;
        json["owner"]!["login"] = repository.Owner;
        return json;
    }
}
