using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hubgate.Benchmarks;

/// <summary>
/// The cache-hit path of an installation request through <see cref="GitHubAppAuthenticationHandler"/>, against the
/// same request through a handler that only adds a fixed header. Both end at a terminal handler that answers 200
/// without I/O, so the difference is the cost of authorization itself.
/// </summary>
[MemoryDiagnoser]
public class AuthorizationBenchmarks
{
    private readonly HttpMessageInvoker _authorized;
    private readonly HttpMessageInvoker _fixedHeader;
    private readonly Uri _uri = new("https://api.github.com/repos/acme/api/pulls");
    private readonly ServiceProvider _services;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-bench-" + Guid.NewGuid().ToString("N"));

    public AuthorizationBenchmarks()
    {
        _services = CreateServices(_directory);

        // Warm the cache with a token as a mint would leave it.
        var provider = _services.GetRequiredService<InstallationTokenProvider>();
        provider.Seed(1, new InstallationToken("ghs_" + new string('x', 36), DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow, null, "all"));

        var handler = GitHubAppServiceCollectionExtensions.CreateHandler(_services, new GitHubAppAuthenticationSettings(InstallationId: 1));
        handler.InnerHandler = new OkHandler();
        _authorized = new HttpMessageInvoker(handler);
        _fixedHeader = new HttpMessageInvoker(new FixedHeaderHandler { InnerHandler = new OkHandler() });
    }

    /// <summary>The library's services on a migrated SQLite file in <paramref name="directory"/>, logging nowhere.</summary>
    internal static ServiceProvider CreateServices(string directory)
    {
        Directory.CreateDirectory(directory);
        using var rsa = RSA.Create(2048);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GitHub:AppId"] = "1",
            ["GitHub:PrivateKey"] = rsa.ExportRSAPrivateKeyPem(),
            ["ConnectionStrings:Hubgate"] = $"Data Source={Path.Combine(directory, "bench.db")}",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddHubgateStorage(configuration);
        services.AddGitHubApp(configuration);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<DatabaseMigrator>().MigrateAsync(CancellationToken.None).GetAwaiter().GetResult();
        return provider;
    }

    [Benchmark(Baseline = true)]
    public HttpStatusCode FixedHeader()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        using var response = _fixedHeader.Send(request, CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public async Task<HttpStatusCode> CacheHit()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        using var response = await _authorized.SendAsync(request, CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public async Task<HttpStatusCode> FixedHeaderAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
        using var response = await _fixedHeader.SendAsync(request, CancellationToken.None);
        return response.StatusCode;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _authorized.Dispose();
        _fixedHeader.Dispose();
        _services.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    internal sealed class FixedHeaderHandler : DelegatingHandler
    {
        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer fixed");
            return base.Send(request, cancellationToken);
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer fixed");
            return base.SendAsync(request, cancellationToken);
        }
    }

    internal sealed class OkHandler : HttpMessageHandler
    {
        private static readonly HttpResponseMessage Ok = new(HttpStatusCode.OK);

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) => Ok;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Ok);
    }
}
