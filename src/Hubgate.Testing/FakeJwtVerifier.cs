using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hubgate.Testing;

/// <summary>Checks an App JWT the way GitHub does, with GitHub's error messages.</summary>
internal static class FakeJwtVerifier
{
    public const string Undecodable = "A JSON web token could not be decoded";
    public const string BadIat = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
    public const string BadExp = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    public const string ExpTooFar = "'Expiration time' claim ('exp') is too far in the future";
    public const string BadIss = "'Issuer' claim ('iss') must be an Integer";

    public static bool LooksLikeJwt(string credential) => credential.Count(c => c == '.') == 2;

    /// <summary>
    /// The <c>iss</c> claim as text (a number's digits, or a string), read before the signature is checked — GitHub
    /// must know the App to know which key to verify with; null when the token does not decode.
    /// </summary>
    public static string? UnverifiedIssuer(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            return claims.RootElement.ValueKind == JsonValueKind.Object && claims.RootElement.TryGetProperty("iss", out var iss)
                ? iss.ValueKind switch
                {
                    JsonValueKind.Number => iss.GetRawText(),
                    JsonValueKind.String => iss.GetString(),
                    _ => null,
                }
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Null when valid; otherwise GitHub's message. <paramref name="numericIssuerOnly"/> plays GitHub Enterprise
    /// Server 3.13 and older, which accept only the numeric App id as <c>iss</c>.
    /// </summary>
    public static string? Verify(string jwt, RSA publicKey, DateTimeOffset now, long appId, string clientId, bool numericIssuerOnly = false)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return Undecodable;
        }

        JsonElement header;
        JsonElement claims;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement;
            claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement;
            signature = Base64Url.DecodeFromChars(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return Undecodable;
        }

        if (header.ValueKind != JsonValueKind.Object || claims.ValueKind != JsonValueKind.Object ||
            !header.TryGetProperty("alg", out var alg) || alg.GetString() != "RS256")
        {
            return Undecodable;
        }

        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!publicKey.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
        {
            return Undecodable;
        }

        var nowSeconds = now.ToUnixTimeSeconds();
        if (!claims.TryGetProperty("iat", out var iat) || iat.ValueKind != JsonValueKind.Number || !iat.TryGetInt64(out var issuedAt) ||
            issuedAt > nowSeconds)
        {
            return BadIat;
        }

        if (!claims.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetInt64(out var expiresAt) ||
            expiresAt <= nowSeconds)
        {
            return BadExp;
        }

        if (expiresAt > nowSeconds + 600 || expiresAt - issuedAt > 600)
        {
            return ExpTooFar;
        }

        if (!claims.TryGetProperty("iss", out var iss))
        {
            return BadIss;
        }

        if (numericIssuerOnly && (iss.ValueKind != JsonValueKind.Number || !iss.TryGetInt64(out var numeric) || numeric != appId))
        {
            return BadIss;
        }

        var issuer = iss.ValueKind switch
        {
            JsonValueKind.Number => iss.GetRawText(),
            JsonValueKind.String => iss.GetString(),
            _ => null,
        };
        if (issuer != appId.ToString(System.Globalization.CultureInfo.InvariantCulture) && issuer != clientId)
        {
            return BadIss;
        }

        return null;
    }
}
