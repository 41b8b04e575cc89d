using Hubgate.Problems;
using System.Security.Cryptography;
using System.Text;
using Hubgate.Server.Access;

namespace Hubgate.Server.Api;

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c> on route groups: the key identifies a client (<see cref="ClientDirectory"/>),
/// whose policy the endpoints then apply. The management API also needs the client's <c>Admin</c> right. Failed checks
/// are throttled per remote address (<see cref="FailedKeyThrottle"/>).
/// </summary>
internal static class ApiKeyAuthentication
{
    /// <summary>
    /// Marks every endpoint of the group as requiring a client key and enforces it; with <paramref name="admin"/>,
    /// only clients with the <c>Admin</c> right get through (403 otherwise).
    /// </summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder, bool admin = true)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(RequiresApiKey.Instance);
        builder.AddEndpointFilter(async (context, next) =>
        {
            var failure = await CheckAsync(context.HttpContext, admin);
            return failure ?? await next(context);
        });
        return builder;
    }

    /// <summary>Null when the request carries a client's key (with the Admin right if asked); otherwise the answer to send.</summary>
    public static async ValueTask<IResult?> CheckAsync(HttpContext context, bool admin)
    {
        var services = context.RequestServices;
        var clients = services.GetRequiredService<ClientDirectory>();
        var throttle = services.GetRequiredService<FailedKeyThrottle>();
        if (throttle.Blocked(context) is { } blocked)
        {
            return blocked;
        }

        var presented = BearerToken(context.Request.Headers.Authorization.ToString());
        var client = presented is null ? null : await clients.AuthenticateAsync(presented, context.RequestAborted);
        if (client is null)
        {
            if (!await clients.IsConfiguredAsync(context.RequestAborted))
            {
                return HubgateProblems.Result(HubgateProblems.ClientsNotConfigured,
                    "Neither Hubgate:ApiKey nor Hubgate:Clients is configured, and no client is stored (hubgate clients add); set one to use the management API and the proxy.");
            }

            if (throttle.Failed(context) is { } throttled)
            {
                return throttled;
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            return HubgateProblems.Result(HubgateProblems.InvalidKey,
                "missing or wrong API key (Authorization: Bearer <key of a Hubgate:Clients entry or Hubgate:ApiKey>)");
        }

        context.SetClient(client);
        if (admin && !client.Policy.Admin)
        {
            return AccessRefusal.Admin(client).ToResult(context);
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
