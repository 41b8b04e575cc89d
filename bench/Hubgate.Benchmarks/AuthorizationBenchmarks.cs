extern alias server;

using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Hubgate.Authentication;
using Hubgate.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

using AccessClient = server::Hubgate.Server.Access.AccessClient;
using AppRight = server::Hubgate.Server.Access.AppRight;
using ClientPolicy = server::Hubgate.Server.Access.ClientPolicy;
using ClientTokenScopes = server::Hubgate.Server.Access.ClientTokenScopes;

namespace Hubgate.Benchmarks;

/// <summary>
/// The cache-hit path of an installation request through the rate-limit gate and <see cref="GitHubAppAuthenticationHandler"/>, against the
/// same request through a handler that only adds a fixed header. Both end at a terminal handler that answers 200
/// without I/O, so the difference is the cost of authorization itself. The scoped rows take the same request as the
/// proxy sends it for a client limited to repositories and permissions: the client's token scope on the installation
/// (<see cref="ClientTokenScopes"/>) and the scoped token from the provider's cache; against the same request for an
/// unscoped client (installation set on the request, as the proxy does) and the fixed header on that request.
/// </summary>
[MemoryDiagnoser]
public class AuthorizationBenchmarks
{
    private readonly HttpMessageInvoker _authorized;
    private readonly HttpMessageInvoker _fixedHeader;
    private readonly Uri _uri = new("https://api.github.com/repos/acme/api/pulls");
    private readonly ServiceProvider _services;
    private static readonly long[] RepositoryIds = [102];
    private static readonly string[] RepositoryNames = ["acme/api"];
    private readonly ClientTokenScopes _scopes;
    private readonly AccessClient _client;
    private readonly InstallationTokenScope _scope;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hubgate-bench-" + Guid.NewGuid().ToString("N"));

    public AuthorizationBenchmarks()
    {
        _services = CreateServices(_directory);

        // Warm the cache with a token as a mint would leave it.
        var provider = _services.GetRequiredService<InstallationTokenProvider>();
        provider.Seed(1, new InstallationToken("ghs_" + new string('x', 36), DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow, null, "all"));

        var databases = _services.GetRequiredService<IDbContextFactory<HubgateDbContext>>();
        using (var db = databases.CreateDbContext())
        {
            var now = DateTimeOffset.UtcNow;
            db.Installations.Add(new InstallationEntity { Id = 1, AccountLogin = "acme", CreatedAt = now, UpdatedAt = now });
            db.Repositories.Add(new RepositoryEntity { Id = 102, InstallationId = 1, Name = "docs", FullName = "acme/docs", CreatedAt = now, UpdatedAt = now });
            db.SaveChanges();
        }

        // A client limited to acme/api and repository 102, contents:read and issues:write (its scope worked out once).
        var policy = new ClientPolicy(null, null, RepositoryIds.ToFrozenSet(), RepositoryNames.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            AppRight.None, Tokens: false, Admin: false)
        {
            Permissions = new Dictionary<string, string> { ["contents"] = "read", ["issues"] = "write" }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
        };
        _client = new AccessClient("ci", new byte[32], policy);
        _scopes = new ClientTokenScopes(databases, TimeProvider.System);
        _scope = _scopes.ResolveAsync(_client, Hubgate.Apps.GitHubApp.DefaultName, 1, CancellationToken.None).AsTask().GetAwaiter().GetResult().Scope;
        provider.Seed(1, _scope, new InstallationToken("ghs_" + new string('y', 36), DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow, null, "selected"));

        _authorized = new HttpMessageInvoker(
            GitHubAppServiceCollectionExtensions.CreatePipeline(_services, new GitHubAppAuthenticationSettings(InstallationId: 1), new OkHandler()));
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

    /// <summary>The fixed header on the request as the proxy builds it for a scoped client (installation and scope set).</summary>
    [Benchmark]
    public async Task<HttpStatusCode> FixedHeaderScopedRequest()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri).ForInstallation(1).WithTokenScope(_scope);
        using var response = await _fixedHeader.SendAsync(request, CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public async Task<HttpStatusCode> UnscopedCacheHit()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri).ForInstallation(1);
        using var response = await _authorized.SendAsync(request, CancellationToken.None);
        return response.StatusCode;
    }

    [Benchmark]
    public async Task<HttpStatusCode> ScopedCacheHit()
    {
        var resolved = await _scopes.ResolveAsync(_client, Hubgate.Apps.GitHubApp.DefaultName, 1, CancellationToken.None);
        using var request = new HttpRequestMessage(HttpMethod.Get, _uri).ForInstallation(1).WithTokenScope(resolved.Scope);
        using var response = await _authorized.SendAsync(request, CancellationToken.None);
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
