using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Hubgate.Server.Tests.Webhooks;

/// <summary>
/// A webhook configured with <c>content_type: form</c>: the JSON in the <c>payload</c> field of an
/// <c>application/x-www-form-urlencoded</c> body, signed over the body as sent.
/// </summary>
public sealed class FormDeliveryTests
{
    private const string Secret = "form-secret";
    private const string ApiKey = "form-api-key-0b7e";
    private const string Path = "/webhooks/github";
    private static readonly byte[] Form = File.ReadAllBytes(System.IO.Path.Combine(WebhookFixtures.Directory, "push", "with-new-branch.payload.form"));
    private static readonly byte[] Json = WebhookFixtures.Load("push", "with-new-branch.payload.json");

    private static async Task<LocalDelivery> RowAsync(HubgateApplication app, string id)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        var rows = await db.LocalDeliveries().Where(d => d.DeliveryId == id).ToListAsync();
        return Assert.Single(await rows.WithBodiesAsync(db, app.Services.GetRequiredService<Hubgate.Webhooks.Store.DeliveryStore>()));
    }

    [Fact]
    public async Task FormDelivery_VerifiedOverTheRawBody_StoredAsSent_HandlersAndTheApiGetTheJson()
    {
        var seen = new TaskCompletionSource<(string Ref, long? Repository, string? JsonRef)>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var app = new HubgateApplication(new Dictionary<string, string?>
        {
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:WebhookSecret"] = Secret,
            ["Webhooks:PollInterval"] = "00:00:00.050",
        }, services => new WebhookBuilder(services).On<Octokit.Webhooks.Events.PushEvent>("push", (push, context, _) =>
        {
            seen.TrySetResult((push.Ref, context.RepositoryId, context.Json.GetProperty("ref").GetString()));
            return Task.CompletedTask;
        }));
        using var client = app.CreateClient();
        using var request = WebhookFixtures.FormDelivery(Path, "push", Form, Secret, "form-1");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var handled = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("refs/heads/master", handled.Ref);
        Assert.Equal("refs/heads/master", handled.JsonRef);
        using var expected = JsonDocument.Parse(Json);
        Assert.Equal(expected.RootElement.GetProperty("repository").GetProperty("id").GetInt64(), handled.Repository);

        // Kept as signed, with its content type: the signature can be checked again and the delivery replayed as it came.
        var row = await RowAsync(app, "form-1");
        Assert.Equal(Form, row.Body);
        Assert.Contains("application/x-www-form-urlencoded", row.HeadersJson, StringComparison.Ordinal);
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(row.Body, WebhookFixtures.SignSha256(Form, Secret), null, [Secret]));
        Assert.Equal("push", row.Event);
        Assert.NotNull(row.RepositoryId);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var detail = await client.GetFromJsonAsync<JsonElement>(new Uri("/api/deliveries/form-1", UriKind.Relative));
        Assert.Equal("refs/heads/master", detail.GetProperty("payload").GetProperty("ref").GetString());
    }

    [Fact]
    public async Task FormDelivery_SignedOverTheDecodedJson_401()
    {
        using var app = new HubgateApplication(new Dictionary<string, string?> { ["GitHub:WebhookSecret"] = Secret, ["Webhooks:RunWorker"] = "false" });
        using var client = app.CreateClient();
        using var request = WebhookFixtures.FormDelivery(Path, "push", Form, secret: null, "form-2");
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", WebhookFixtures.SignSha256(Json, Secret));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
    }

    [Theory]
    [InlineData("zen=hello")]
    [InlineData("payload=%7B%7D&payload=%7B%7D")]
    [InlineData("payload=%5B1%5D")]
    [InlineData("{\"zen\":\"json sent as a form\"}")]
    public async Task FormWithoutOneJsonObjectPayload_400(string form)
    {
        using var app = new HubgateApplication(new Dictionary<string, string?> { ["GitHub:WebhookSecret"] = Secret, ["Webhooks:RunWorker"] = "false" });
        using var client = app.CreateClient();
        using var request = WebhookFixtures.FormDelivery(Path, "push", Encoding.UTF8.GetBytes(form), Secret);

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("payload", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
