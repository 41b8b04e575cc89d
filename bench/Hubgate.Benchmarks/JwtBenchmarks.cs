using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Hubgate.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Hubgate.Benchmarks;

/// <summary>A reused App JWT against signing a new one each time (what reuse saves).</summary>
[MemoryDiagnoser]
public class JwtBenchmarks
{
    private readonly AppJwtFactory _factory;
    private readonly GitHubClock _clock;
    private readonly IOptions<GitHubAppOptions> _options;

    public JwtBenchmarks()
    {
        using var rsa = RSA.Create(2048);
        _options = Options.Create(new GitHubAppOptions { AppId = 1, PrivateKey = rsa.ExportRSAPrivateKeyPem() });
        _clock = new GitHubClock(TimeProvider.System, null!, Microsoft.Extensions.Logging.Abstractions.NullLogger<GitHubClock>.Instance);
        _factory = new AppJwtFactory(_options, _clock);
    }

    [Benchmark(Baseline = true)]
    public string Reused() => _factory.GetJwt();

    [Benchmark]
    public string SignedEachTime()
    {
        _factory.Invalidate();
        return _factory.GetJwt();
    }
}
