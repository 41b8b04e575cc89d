using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace FakeGitHub;

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
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The fixture folder, found by walking up from the test binaries to the repository root.</summary>
    public static string Directory => Path.Combine(Root.Value, "tests", "fixtures", "github-webhooks");

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
    public static string SignSha256(byte[] body, string secret)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        return "sha256=" + Convert.ToHexStringLower(hmac.ComputeHash(body));
    }

    /// <summary><c>sha1=&lt;hex&gt;</c> (GitHub's legacy header).</summary>
    public static string SignSha1(byte[] body, string secret)
    {
#pragma warning disable CA5350 // GitHub's legacy webhook signature
        using var hmac = new HMACSHA1(Encoding.UTF8.GetBytes(secret));
#pragma warning restore CA5350
        return "sha1=" + Convert.ToHexStringLower(hmac.ComputeHash(body));
    }

    /// <summary>
    /// A delivery as GitHub sends it for an App's webhook: JSON body, event, delivery id, hook headers naming the App
    /// (<paramref name="appId"/>, else the fake's default App), both signatures.
    /// </summary>
    public static HttpRequestMessage Delivery(string path, string @event, byte[] body, string? secret, string? deliveryId = null, long? appId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", "GitHub-Hookshot/044aadd");
        request.Headers.TryAddWithoutValidation("X-GitHub-Event", @event);
        request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", deliveryId ?? Guid.NewGuid().ToString());
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-ID", "292430182");
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-Type", "integration");
        request.Headers.TryAddWithoutValidation("X-GitHub-Hook-Installation-Target-ID",
            (appId ?? new FakeGitHubOptions().AppId).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Hub-Signature", SignSha1(body, secret));
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", SignSha256(body, secret));
        }

        return request;
    }

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

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hubgate.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Hubgate.slnx above {AppContext.BaseDirectory}: run the tests from the repository.");
    }
}
