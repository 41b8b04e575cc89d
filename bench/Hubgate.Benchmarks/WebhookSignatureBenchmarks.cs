using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Hubgate.Webhooks;

namespace Hubgate.Benchmarks;

/// <summary>
/// Verifying a delivery's signature against a bare HMAC-SHA256 over the same bytes: the verification's overhead
/// (header parsing, hex decoding, constant-time comparison) must stay within 5 % of the hash itself.
/// </summary>
public class WebhookSignatureBenchmarks : SignatureBenchmarkBase
{
    /// <summary>8 KB (a typical push), 28 KB (a large pull_request), 1 MB, 25 MB (GitHub's cap).</summary>
    [Params(8 * 1024, 28 * 1024, 1024 * 1024, 25 * 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var body = new byte[Size];
        new Random(42).NextBytes(body);
        Use(body);
    }
}

/// <summary>
/// The fixed work <see cref="WebhookSignature.Verify(ReadOnlySpan{byte}, string?, string?, IReadOnlyList{byte[]})"/>
/// adds to the hash, whatever the body's size: on a 63-byte body the hash is short, so the difference between the two
/// rows is the header parsing, hex decoding and comparison, measured without a large hash's noise around it.
/// </summary>
public class WebhookSignatureOverheadBenchmarks : SignatureBenchmarkBase
{
    [GlobalSetup]
    public void Setup() => Use(Encoding.UTF8.GetBytes("""{"zen":"Keep it logically awesome.","hook_id":123456789,"x":1}"""));
}

/// <summary>The two rows every signature benchmark compares, over the body a subclass sets up.</summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public abstract class SignatureBenchmarkBase
{
    private const string SecretText = "benchmark-webhook-secret";
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes(SecretText);
    private readonly byte[][] _secrets = [Secret];
    private readonly byte[] _hash = new byte[32];
    private byte[] _body = [];
    private string _header = "";

    [Benchmark(Baseline = true)]
    public byte BareHmacSha256()
    {
        HMACSHA256.HashData(Secret, _body, _hash);
        return _hash[0];
    }

    [Benchmark]
    public int Verify() => (int)WebhookSignature.Verify(_body, _header, null, _secrets);

    protected void Use(byte[] body)
    {
        _body = body;
        _header = WebhookSignature.Sign(body, SecretText);
    }
}
