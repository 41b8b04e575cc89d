using System.Net.Http.Headers;
using System.Text;
using Hubgate.Testing;

namespace Hubgate.TestSupport;

/// <summary>One real GitHub payload from tests/fixtures/github-webhooks (octokit/webhooks, MIT).</summary>
public sealed record WebhookFixture(string Event, string Name, byte[] Body)
{
    public override string ToString() => $"{Event}/{Name}";
}

/// <summary>
/// The recorded payloads, and deliveries signed as GitHub signs them. The signing here is written independently of
/// Hubgate's own so that a shared mistake cannot pass unnoticed.
/// </summary>
public static class WebhookFixtures
{
    /// <summary>The fixture folder, found by walking up from the test binaries to the repository root.</summary>
    public static string Directory => Path.Combine(Checkout.Root, "tests", "fixtures", "github-webhooks");

    /// <summary>Every payload, with its event name (the folder).</summary>
    public static IReadOnlyList<WebhookFixture> All() =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(path => new WebhookFixture(
                Path.GetFileName(Path.GetDirectoryName(path)!),
                Path.GetFileName(path),
                File.ReadAllBytes(path)))];

    /// <summary>One payload: <c>Load("push", "with-new-branch.payload.json")</c>.</summary>
    public static byte[] Load(string @event, string name) => File.ReadAllBytes(Path.Combine(Directory, @event, name));

    /// <summary>
    /// The <c>push/with-new-branch</c> payload cut to one commit of its own — sha <paramref name="n"/> as 40 hex digits — for
    /// <paramref name="installationId"/>: a burst of these stores one commit per delivery, so counts prove exactly-once.
    /// </summary>
    public static byte[] PushOfOneCommit(long n, long installationId)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(Load("push", "with-new-branch.payload.json"))!.AsObject();
        var commit = json["commits"]![0]!.DeepClone();
        var sha = n.ToString("x40", System.Globalization.CultureInfo.InvariantCulture);
        commit["id"] = sha;
        commit["message"] = $"change {n}";
        commit["distinct"] = true;
        json["commits"] = new System.Text.Json.Nodes.JsonArray(commit);
        json["head_commit"] = commit.DeepClone();
        json["after"] = sha;
        json["installation"] = new System.Text.Json.Nodes.JsonObject { ["id"] = installationId };
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary><c>sha256=&lt;hex&gt;</c> of the exact bytes.</summary>
    public static string SignSha256(byte[] body, string secret) => WebhookDelivery.SignSha256(body, secret);

    /// <summary><c>sha1=&lt;hex&gt;</c> (GitHub's legacy header).</summary>
    public static string SignSha1(byte[] body, string secret) => WebhookDelivery.SignSha1(body, secret);

    /// <summary>
    /// A delivery as GitHub sends it for an App's webhook (<see cref="WebhookDelivery.CreateRequest"/>), to a path relative
    /// to the test client's base address; the hook headers name <paramref name="appId"/>, else the fake's default App.
    /// </summary>
    public static HttpRequestMessage Delivery(string path, string @event, byte[] body, string? secret, string? deliveryId = null, long? appId = null) =>
        WebhookDelivery.CreateRequest(new Uri(path, UriKind.Relative), @event, body, secret, deliveryId, appId ?? WebhookDelivery.DefaultAppId);

    /// <summary>
    /// A delivery of a webhook configured with <c>content_type: form</c>: <paramref name="form"/> (<c>payload=</c> and the
    /// URL-encoded JSON) sent and signed byte for byte, as <c>application/x-www-form-urlencoded</c>.
    /// </summary>
    public static HttpRequestMessage FormDelivery(string path, string @event, byte[] form, string? secret, string? deliveryId = null)
    {
        var request = Delivery(path, @event, form, secret, deliveryId);
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        return request;
    }
}
