using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Hubgate.Server.Api;

/// <summary>
/// <c>Authorization: Bearer &lt;Hubgate:ApiKey&gt;</c> on route groups. Keys are compared as SHA-256 digests
/// in constant time, so neither the content nor the length of the configured key leaks through timing.
/// </summary>
internal static class ApiKeyAuthentication
{
    /// <summary>Marks every endpoint of the group as requiring the API key and enforces it.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(RequiresApiKey.Instance);
        builder.AddEndpointFilter(async (context, next) =>
        {
            var failure = Check(context.HttpContext);
            return failure ?? await next(context);
        });
        return builder;
    }

    /// <summary>Null when the request carries the configured key; otherwise the answer to send.</summary>
    public static IResult? Check(HttpContext context)
    {
        var configured = context.RequestServices.GetRequiredService<IOptionsMonitor<ApiKeyOptions>>().CurrentValue.ApiKey;
        if (string.IsNullOrEmpty(configured))
        {
            return Results.Json(new { error = "Hubgate:ApiKey is not configured; set it to use the management API and the proxy." },
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var presented = BearerToken(context.Request.Headers.Authorization.ToString());
        if (presented is null || !FixedTimeEquals(presented, configured))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Json(new { error = "missing or wrong API key (Authorization: Bearer <Hubgate:ApiKey>)" },
                statusCode: StatusCodes.Status401Unauthorized);
        }

        return null;
    }

    internal static bool FixedTimeEquals(string presented, string configured)
    {
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), a);
        SHA256.HashData(Encoding.UTF8.GetBytes(configured), b);
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    private static string? BearerToken(string header)
    {
        const string Scheme = "Bearer ";
        return header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length
            ? header[Scheme.Length..].Trim()
            : null;
    }
}

/// <summary>Endpoint metadata: this endpoint requires the API key (checked by the route-table test).</summary>
internal sealed class RequiresApiKey
{
    public static readonly RequiresApiKey Instance = new();
}
