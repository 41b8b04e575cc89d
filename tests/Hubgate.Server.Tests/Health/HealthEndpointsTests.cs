using System.Net;
using System.Net.Http.Json;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.TestSupport;

namespace Hubgate.Server.Tests.Health;

public sealed class HealthEndpointsTests
{
    [Fact]
    public async Task Healthz_AnswersOk()
    {
        using var app = new HubgateApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readyz_AfterStartup_ReportsDatabaseMigrated()
    {
        using var app = new HubgateApplication();
        using var client = app.CreateClient();

        var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<Dictionary<string, object?>>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready", body!["status"]?.ToString());
        Assert.True(TestDatabase.IsPostgres || File.Exists(app.DatabasePath));
    }
}
