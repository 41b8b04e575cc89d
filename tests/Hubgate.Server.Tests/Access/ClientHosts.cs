using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Access;

/// <summary>The server in front of the fake GitHub (installation 1 of acme with api and web), and calls made with a key.</summary>
internal static class ClientHosts
{
    public const string AdminKey = "clients-admin-key-4f1e";

    public static async Task<FakeGitHubServer> StartGitHubAsync()
    {
        var gitHub = await FakeGitHubServer.StartAsync();
        gitHub.AddInstallation(1, "acme");
        gitHub.AddRepository(1, 100, "acme", "api");
        gitHub.AddRepository(1, 101, "acme", "web");
        return gitHub;
    }

    public static Dictionary<string, string?> Settings(FakeGitHubServer gitHub, IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = AdminKey,
            ["GitHub:AppId"] = gitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal),
            ["GitHub:ApiBaseUrl"] = gitHub.ApiBaseUrl.AbsoluteUri,
            ["GitHub:SyncInterval"] = "0",
            ["Webhooks:RunWorker"] = "false",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static async Task<HttpResponseMessage> SendAsync(HubgateApplication app, string key, HttpMethod method, string path, object? body = null)
    {
        using var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await client.SendAsync(request);
    }

    public static async Task<int> StatusAsync(HubgateApplication app, string key, string path) =>
        (int)(await SendAsync(app, key, HttpMethod.Get, path)).StatusCode;

    /// <summary>Adds a client through the API as the admin; its new key.</summary>
    public static async Task<string> AddAsync(HubgateApplication app, object client)
    {
        var response = await SendAsync(app, AdminKey, HttpMethod.Post, "/api/clients", client);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<JsonElement>(text).GetProperty("key").GetString()!;
    }

    /// <summary>Rotates a client's key through the API as the admin; the new key.</summary>
    public static async Task<string> RotateAsync(HubgateApplication app, string name)
    {
        var response = await SendAsync(app, AdminKey, HttpMethod.Post, $"/api/clients/{name}/rotate");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<JsonElement>(text).GetProperty("key").GetString()!;
    }
}
