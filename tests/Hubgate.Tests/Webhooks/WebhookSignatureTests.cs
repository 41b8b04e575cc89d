using System.Text;
using Hubgate.Testing;
using Hubgate.Webhooks;

namespace Hubgate.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    private static readonly byte[] Hello = Encoding.UTF8.GetBytes("Hello, World!");
    private const string VectorSecret = "It's a Secret to Everybody";
    private const string VectorSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    [Fact]
    public void GitHubsDocumentedVector_IsValid()
    {
        Assert.Equal(VectorSignature, WebhookSignature.Sign(Hello, VectorSecret));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Hello, VectorSignature, null, [VectorSecret]));
    }

    [Theory]
    [InlineData(100, null)]
    [InlineData(300 * 1024, null)]
    [InlineData(300 * 1024, 300 * 1024)]
    [InlineData(128 * 1024, 128 * 1024)] // exactly two chunks
    public async Task BodyReadInPooledChunks_VerifiesAsTheWholeBody_AndGivesItsBytesBack(int length, int? declared)
    {
        var body = new byte[length];
        Random.Shared.NextBytes(body);
        var budget = new UnverifiedBodyBudget();
        var (read, unverified) = await UnverifiedBody.ReadAsync(new MemoryStream(body), declared, budget, long.MaxValue, CancellationToken.None);

        Assert.Equal(BodyRead.Complete, read);
        using (unverified)
        {
            Assert.True(budget.InFlight >= length, $"{budget.InFlight} bytes counted for a body of {length}");
            var secrets = new[] { Encoding.UTF8.GetBytes("other"), Encoding.UTF8.GetBytes(VectorSecret) };
            Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(unverified!.Sequence, WebhookSignature.Sign(body, VectorSecret), null, secrets));
            Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(unverified.Sequence, null, WebhookSignature.SignSha1(body, VectorSecret), secrets));
            Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(unverified.Sequence, WebhookSignature.Sign(body.AsSpan(0, body.Length - 1), VectorSecret), null, secrets));
            Assert.Equal(body, unverified.ToArray());
        }

        Assert.Equal(0, budget.InFlight);
    }

    [Fact]
    public async Task BodyPastTheBound_OverBudget_NothingLeftCounted()
    {
        var budget = new UnverifiedBodyBudget();
        var (read, unverified) = await UnverifiedBody.ReadAsync(new MemoryStream(new byte[1024 * 1024]), null, budget, 512 * 1024, CancellationToken.None);
        Assert.Equal(BodyRead.OverBudget, read);
        Assert.Null(unverified);
        Assert.Equal(0, budget.InFlight);
    }

    [Fact]
    public void Sha1_IsAcceptedAsFallbackWhenNoSha256HeaderIsSent()
    {
        var sha1 = WebhookFixtures.SignSha1(Hello, VectorSecret);
        Assert.Equal(sha1, WebhookSignature.SignSha1(Hello, VectorSecret));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Hello, null, sha1, [VectorSecret]));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Hello, "", sha1, [VectorSecret]));
    }

    [Fact]
    public void Sha256_IsPreferred_AWrongSha256IsNotRescuedByAGoodSha1()
    {
        var sha1 = WebhookSignature.SignSha1(Hello, VectorSecret);
        var wrong = WebhookSignature.Sign(Hello, "another secret");
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Hello, wrong, sha1, [VectorSecret]));
    }

    [Theory]
    [InlineData(null, SignatureCheck.Missing)]
    [InlineData("", SignatureCheck.Missing)]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.Malformed)]
    [InlineData("=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.Malformed)]
    [InlineData("sha256=757107ea", SignatureCheck.Malformed)]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1", SignatureCheck.Malformed)]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17ff", SignatureCheck.Malformed)]
    [InlineData("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.Malformed)]
    [InlineData("sha256=", SignatureCheck.Malformed)]
    [InlineData("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.Malformed)]
    [InlineData("sha512=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.UnsupportedAlgorithm)]
    [InlineData("md5=757107ea0eb2509fc211221cce984b8a", SignatureCheck.UnsupportedAlgorithm)]
    [InlineData("sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", SignatureCheck.Mismatch)]
    [InlineData("SHA256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17", SignatureCheck.Valid)]
    [InlineData(VectorSignature, SignatureCheck.Valid)]
    // SignatureCheck is internal and a test method is public: xunit hands the enum over boxed.
    public void Header_IsClassified(string? header, object expected) =>
        Assert.Equal((SignatureCheck)expected, WebhookSignature.Verify(Hello, header, null, [VectorSecret]));

    [Fact]
    public void Rotation_EverySecretIsTried_OldAndNewBothPass()
    {
        string[] secrets = ["new-secret", "old-secret"];
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Hello, WebhookSignature.Sign(Hello, "new-secret"), null, secrets));
        Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(Hello, WebhookSignature.Sign(Hello, "old-secret"), null, secrets));
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Hello, WebhookSignature.Sign(Hello, "retired"), null, secrets));
    }

    [Fact]
    public void NoSecrets_NeverValid() =>
        Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(Hello, VectorSignature, null, Array.Empty<string>()));

    [Fact]
    public void EveryFixture_SignedIndependently_Verifies()
    {
        foreach (var fixture in WebhookFixtures.All())
        {
            var header = WebhookFixtures.SignSha256(fixture.Body, "fixture-secret");
            Assert.Equal(header, WebhookSignature.Sign(fixture.Body, "fixture-secret"));
            Assert.Equal(SignatureCheck.Valid, WebhookSignature.Verify(fixture.Body, header, null, ["fixture-secret"]));

            var tampered = (byte[])fixture.Body.Clone();
            tampered[tampered.Length / 2] ^= 1;
            Assert.Equal(SignatureCheck.Mismatch, WebhookSignature.Verify(tampered, header, null, ["fixture-secret"]));
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(20)]
    public void DigestEquals_IsTrueOnlyForTheSameBytes_WhicheverBitDiffers(int size)
    {
        var digest = new byte[size];
        new Random(7).NextBytes(digest);
        Assert.True(WebhookSignature.DigestEquals(digest, (byte[])digest.Clone()));
        for (var bit = 0; bit < size * 8; bit++)
        {
            var other = (byte[])digest.Clone();
            other[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(WebhookSignature.DigestEquals(digest, other), $"bit {bit} differs");
            Assert.False(WebhookSignature.DigestEquals(other, digest), $"bit {bit} differs");
        }

        Assert.False(WebhookSignature.DigestEquals(digest, digest.AsSpan(0, size - 1)));
        Assert.False(WebhookSignature.DigestEquals(new byte[32], new byte[20]));
    }
}
