namespace Hubgate.Server.Api;

internal static class ApiSetup
{
    /// <summary>The API key that guards the management API and the proxy (<c>Hubgate:ApiKey</c>).</summary>
    public static WebApplicationBuilder AddApiKey(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<ApiKeyOptions>(builder.Configuration.GetSection(ApiKeyOptions.SectionName));
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower)));
        return builder;
    }

    /// <summary>The <c>/api</c> group: JSON, API key required on every route.</summary>
    public static RouteGroupBuilder MapApiGroup(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api").RequireApiKey();
}
