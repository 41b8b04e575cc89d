using Hubgate.Server.Access;

namespace Hubgate.Server.Api;

internal static class ApiSetup
{
    /// <summary>The clients and keys that guard the management API and the proxy (<c>Hubgate:ApiKey</c>, <c>Hubgate:Clients</c>).</summary>
    public static WebApplicationBuilder AddApiKey(this WebApplicationBuilder builder)
    {
        builder.Services.AddAccess(builder.Configuration);
        builder.Services.AddProblemDetails(); // errors are written by Hubgate.Problems.HubgateProblems through IProblemDetailsService
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower)));
        return builder;
    }

    /// <summary>An OpenAPI document describing the management API.</summary>
    public static WebApplicationBuilder AddApiDocs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Hubgate management API";
            document.Info.Description = "Installations, repositories, commits, pull requests, webhook deliveries, clients and vended tokens. " +
                "Every /api route needs Authorization: Bearer <key> of a client with the Admin right (Hubgate:ApiKey is one), " +
                "except POST /api/installations/{id}/access-tokens, which needs the Tokens right.";
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary><c>GET /openapi/v1.json</c> (no key needed: it describes the API, it holds no data).</summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        return app;
    }

    /// <summary>The <c>/api</c> group: JSON, the key of a client with the Admin right (token vending maps its own group, held to the Tokens right).</summary>
    public static RouteGroupBuilder MapApiGroup(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api").RequireApiKey();
}
