using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using Hubgate.Server.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace Hubgate.Server.Dashboard;

/// <summary>
/// A dashboard session is bound to the key it was signed in with: the cookie carries a stamp derived from the key's
/// digest, checked against the client's current key on every request, so that rotating or removing the key (on any
/// replica) ends its sessions at the next request. A session also ends <see cref="AbsoluteLifetime"/> after sign-in,
/// however active, on top of the idle timeout.
/// </summary>
internal static class DashboardSession
{
    /// <summary>The longest a session lives, whatever its activity.</summary>
    public static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromHours(8);

    /// <summary>How long a session lives without a request (renewed as it is used).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromHours(1);

    private const string KeyStampClaim = "hubgate:key";
    private const string SignedInClaim = "hubgate:signed_in";

    /// <summary>The session's identity for <paramref name="client"/>, signed in at <paramref name="now"/>.</summary>
    public static ClaimsPrincipal Principal(AccessClient client, DateTimeOffset now) => new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, client.Name),
            new Claim(KeyStampClaim, KeyStamp(client)),
            new Claim(SignedInClaim, now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)),
        ],
        DashboardSetup.Scheme));

    /// <summary>The cookie handler's per-request check: the client still has this key and the Admin right, and the session is young enough.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal;
        var services = context.HttpContext.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var valid = principal?.Identity?.Name is { } name
                    && long.TryParse(principal.FindFirst(SignedInClaim)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var signedIn)
                    && now < DateTimeOffset.FromUnixTimeSeconds(signedIn) + AbsoluteLifetime
                    && principal.FindFirst(KeyStampClaim)?.Value is { } stamp
                    && await services.GetRequiredService<ClientDirectory>().FindAsync(name, context.HttpContext.RequestAborted) is { Policy.Admin: true } client
                    && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(stamp), System.Text.Encoding.ASCII.GetBytes(KeyStamp(client)));
        if (!valid)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(DashboardSetup.Scheme);
        }
    }

    /// <summary>
    /// 128 bits derived from the key's digest (not the digest itself): changes with the key, and tells nothing about it
    /// even to someone who could read the (encrypted) cookie.
    /// </summary>
    private static string KeyStamp(AccessClient client)
    {
        Span<byte> stamp = stackalloc byte[SHA256.HashSizeInBytes];
        HMACSHA256.HashData("hubgate dashboard session"u8, client.KeyHash, stamp);
        return Convert.ToHexStringLower(stamp[..16]);
    }
}
