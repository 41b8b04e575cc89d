using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Hubgate.Storage;
using Hubgate.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Hubgate.Server.Tests.Access.ClientHosts;

namespace Hubgate.Server.Tests.Storage;

/// <summary>
/// The Data Protection key ring encrypted at rest to a certificate kept outside the database
/// (<c>DataProtection:CertificatePath</c>): the stored ring holds no plaintext master key, stored tokens are read back
/// after a restart with the same certificate, and a ring encrypted to another certificate stops the service at start-up
/// with a message naming the setting.
/// </summary>
public sealed class KeyRingEncryptionTests : IAsyncLifetime, IDisposable
{
    private const string Password = "keyring-pfx-password-6a0c";
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-keyring-" + Guid.NewGuid().ToString("N")[..12]);
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication? _app;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        TestSecrets.Register(Password, "the certificate's password");
        _gitHub = await StartGitHubAsync();
    }

    public async Task DisposeAsync()
    {
        Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose()
    {
        _app?.Dispose();
        _app = null;
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>A self-signed certificate with its private key, as a password-protected .pfx file.</summary>
    private string Certificate(string name)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN=hubgate key ring {name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(_directory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, Password));
        return path;
    }

    private static Dictionary<string, string?> WithCertificate(string? path) => new()
    {
        ["DataProtection:CertificatePath"] = path,
        ["DataProtection:CertificatePassword"] = path is null ? null : Password,
    };

    /// <summary>Starts the server with <paramref name="certificate"/> and has it mint and store a token.</summary>
    private async Task<HubgateApplication> StartAndStoreATokenAsync(string? certificate)
    {
        _app = new HubgateApplication(Settings(_gitHub, WithCertificate(certificate)));
        Assert.Equal(200, await StatusAsync(_app, AdminKey, "/proxy/installations/1/repos/acme/api"));
        Assert.Equal(1, _gitHub.MintCountFor(1));
        return _app;
    }

    private static async Task<List<string>> KeyRingRowsAsync(HubgateApplication app)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<HubgateDbContext>>().CreateDbContextAsync();
        return await db.DataProtectionKeys.Select(k => k.Xml!).ToListAsync();
    }

    [Fact]
    public async Task WithACertificate_TheStoredKeyRing_HoldsNoPlaintextMasterKey()
    {
        var app = await StartAndStoreATokenAsync(Certificate("one"));

        var rows = await KeyRingRowsAsync(app);

        Assert.NotEmpty(rows);
        Assert.All(rows, xml =>
        {
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
            Assert.Contains("<EncryptedData", xml, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task WithoutACertificate_TheStoredKeyRing_HoldsThePlaintextMasterKey_AndAWarningSaysSo()
    {
        var app = await StartAndStoreATokenAsync(certificate: null);

        Assert.Contains(await KeyRingRowsAsync(app), xml => xml.Contains("<masterKey", StringComparison.Ordinal));
        Assert.Contains("is stored unencrypted in the database", app.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoredTokens_AreReadAfterARestart_WithTheSameCertificate()
    {
        var certificate = Certificate("one");
        var first = await StartAndStoreATokenAsync(certificate);

        using var restarted = new HubgateApplication(Settings(_gitHub, new Dictionary<string, string?>(first.DatabaseSettings).Concat(WithCertificate(certificate))
            .ToDictionary(kv => kv.Key, kv => kv.Value)));
        Assert.Equal(200, await StatusAsync(restarted, AdminKey, "/proxy/installations/1/repos/acme/api"));

        Assert.Equal(1, _gitHub.MintCountFor(1)); // the stored token was decrypted, not minted again
        Assert.DoesNotContain("is stored unencrypted in the database", restarted.AllLogText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACertificateSetLater_ReplacesTheKeysStoredUnencrypted_AndTokensAreMintedAgain()
    {
        var first = await StartAndStoreATokenAsync(certificate: null);
        Assert.Contains(await KeyRingRowsAsync(first), xml => xml.Contains("<masterKey", StringComparison.Ordinal));

        using var restarted = new HubgateApplication(Settings(_gitHub, new Dictionary<string, string?>(first.DatabaseSettings).Concat(WithCertificate(Certificate("one")))
            .ToDictionary(kv => kv.Key, kv => kv.Value)));
        Assert.Equal(200, await StatusAsync(restarted, AdminKey, "/proxy/installations/1/repos/acme/api"));

        var rows = await KeyRingRowsAsync(restarted);
        Assert.NotEmpty(rows);
        Assert.All(rows, xml => Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal));
        Assert.Equal(2, _gitHub.MintCountFor(1)); // the token under the replaced key could not be read
        Assert.Contains("1 Data Protection key(s) stored unencrypted", restarted.AllLogText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AKeyRingEncryptedToAnotherCertificate_StopsTheServiceAtStartUp_NamingTheSetting(bool otherCertificate)
    {
        var first = await StartAndStoreATokenAsync(Certificate("one"));
        var settings = new Dictionary<string, string?>(first.DatabaseSettings) { ["Hubgate:ApiKey"] = AdminKey };
        foreach (var (key, value) in WithCertificate(otherCertificate ? Certificate("two") : null))
        {
            settings[key] = value;
        }

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(settings));

        Assert.Contains("exited with 2", failure.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be decrypted", failure.Message, StringComparison.Ordinal);
        Assert.Contains("DataProtection:CertificatePath", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateFileThatCannotBeRead_StopsTheServiceNamingTheSetting()
    {
        File.WriteAllText(Path.Combine(_directory, "broken.pfx"), "not a certificate");
        using var app = new HubgateApplication(WithCertificate(Path.Combine(_directory, "broken.pfx")));

        var failure = Assert.ThrowsAny<Exception>(() => app.Server);

        Assert.Contains("DataProtection:CertificatePath", failure.GetBaseException().Message, StringComparison.Ordinal);
    }
}
