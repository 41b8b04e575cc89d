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

    /// <summary>
    /// An App JWT as GitHub documents it (RS256; <c>iat</c> 60 s back, <c>exp</c> 9 minutes ahead of <paramref name="now"/>),
    /// signed with <paramref name="privateKeyPem"/> — written here, apart from Hubgate's factory, to drive the fake directly.
    /// </summary>
    public static string Sign(string privateKeyPem, object issuer, DateTimeOffset now)
    {
        using var key = RSA.Create();
        key.ImportFromPem(privateKeyPem);
        static string Part(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));
        var input = Part(new { alg = "RS256", typ = "JWT" }) + "." +
                    Part(new { iat = now.AddSeconds(-60).ToUnixTimeSeconds(), exp = now.AddMinutes(9).ToUnixTimeSeconds(), iss = issuer });
        var signature = key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var jwt = input + "." + Base64Url.EncodeToString(signature);
        Hubgate.TestSupport.TestSecrets.Register(jwt, "an App JWT");
        return jwt;
    }

    public static bool SignatureIsValid(string jwt, RSA publicKey)
    {
        var lastDot = jwt.LastIndexOf('.');
        var signingInput = Encoding.ASCII.GetBytes(jwt[..lastDot]);
        var signature = Base64Url.DecodeFromChars(jwt.AsSpan(lastDot + 1));
        return publicKey.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }
}
