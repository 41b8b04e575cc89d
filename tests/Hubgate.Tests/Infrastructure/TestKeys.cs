using System.Security.Cryptography;

namespace Hubgate.Tests.Infrastructure;

/// <summary>RSA keys generated for the test run (never a real App's key).</summary>
internal static class TestKeys
{
    private static readonly Lazy<RSA> Shared = new(() =>
    {
        var key = RSA.Create(2048);
        Hubgate.TestSupport.TestSecrets.RegisterPem(key.ExportRSAPrivateKeyPem(), "the test App's private key");
        return key;
    });

    public static RSA Rsa => Shared.Value;

    public static string Pkcs1Pem => Rsa.ExportRSAPrivateKeyPem();

    public static string Pkcs8Pem => Rsa.ExportPkcs8PrivateKeyPem();
}
