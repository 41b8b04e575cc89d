using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hubgate.Tests.Infrastructure;

/// <summary>Reads a JWT the way a verifier would: header, claims, and an RS256 signature check.</summary>
internal static class Jwt
{
    public static (JsonElement Header, JsonElement Claims) Decode(string jwt)
    {
        var parts = jwt.Split('.');
        Assert.Equal(3, parts.Length);
        var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])).RootElement.Clone();
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone();
        return (header, claims);
    }

    public static bool SignatureIsValid(string jwt, RSA publicKey)
    {
        var lastDot = jwt.LastIndexOf('.');
        var signingInput = Encoding.ASCII.GetBytes(jwt[..lastDot]);
        var signature = Base64Url.DecodeFromChars(jwt.AsSpan(lastDot + 1));
        return publicKey.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }
}
