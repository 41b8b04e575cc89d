using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Hubgate.Webhooks;

namespace Hubgate.Benchmarks;

/// <summary>
/// Verifying a delivery's signature against a bare HMAC-SHA256 over the same bytes: the verification's overhead
/// (header parsing, hex decoding, constant-time comparison) must stay within 5 % of the hash itself.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class WebhookSignatureBenchmarks
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("benchmark-webhook-secret");
    private readonly byte[][] _secrets = [Secret];
    private readonly byte[] _hash = new byte[32];
    private byte[] _body = [];
    private string _header = "";

    /// <summary>8 KB (a typical push), 28 KB (a large pull_request), 1 MB, 25 MB (GitHub's cap).</summary>
    [Params(8 * 1024, 28 * 1024, 1024 * 1024, 25 * 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = new byte[Size];
        new Random(42).NextBytes(_body);
        _header = WebhookSignature.Sign(_body, "benchmark-webhook-secret");
    }

    [Benchmark(Baseline = true)]
    public byte BareHmacSha256()
    {
        HMACSHA256.HashData(Secret, _body, _hash);
        return _hash[0];
    }

    [Benchmark]
    public SignatureCheck Verify() => WebhookSignature.Verify(_body, _header, null, _secrets);
}

/// <summary>
/// The fixed work <see cref="WebhookSignature.Verify(ReadOnlySpan{byte}, string?, string?, IReadOnlyList{byte[]})"/>
/// adds to the hash, whatever the body's size: on a 64-byte body the hash is short, so the difference between the two
/// rows is the header parsing, hex decoding and comparison, measured without a large hash's noise around it.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class WebhookSignatureOverheadBenchmarks
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("benchmark-webhook-secret");
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"zen":"Keep it logically awesome.","hook_id":123456789,"x":1}""");
    private readonly byte[][] _secrets = [Secret];
    private readonly byte[] _hash = new byte[32];
    private readonly string _header = WebhookSignature.Sign(Body, "benchmark-webhook-secret");

    [Benchmark(Baseline = true)]
    public byte BareHmacSha256()
    {
        HMACSHA256.HashData(Secret, Body, _hash);
        return _hash[0];
    }

    [Benchmark]
    public SignatureCheck Verify() => WebhookSignature.Verify(Body, _header, null, _secrets);
}
