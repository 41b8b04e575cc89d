using System.Collections.Concurrent;
using Hubgate.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Hubgate.Server.Tests.Infrastructure;

/// <summary>
/// The real server on a fresh database of its own (SQLite, or PostgreSQL on the suite's PostgreSQL pass: see
/// <see cref="TestDatabase"/>). Settings given to the constructor
/// override appsettings.json the way environment variables would.
/// </summary>
public class HubgateApplication : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    private readonly Action<IServiceCollection>? _services;

    public HubgateApplication(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        Directory = Path.Combine(Path.GetTempPath(), "hubgate-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        DatabasePath = Path.Combine(Directory, "hubgate.db");
        _settings = TestDatabase.Settings(Directory, migrated: true);
        _settings["Urls"] = "http://127.0.0.1:0";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
            RegisterIfSecret(key, value);
        }
    }

    /// <summary>Configured secrets join the run's list, so leaks of them are caught on <see cref="Dispose"/>.</summary>
    private static void RegisterIfSecret(string key, string? value)
    {
        if (key.Equals("GitHub:PrivateKey", StringComparison.OrdinalIgnoreCase))
        {
            TestSecrets.RegisterPem(value, "the App's private key");
        }
        else if (key.Equals("GitHub:WebhookSecret", StringComparison.OrdinalIgnoreCase)
                 || key.StartsWith("GitHub:AdditionalWebhookSecrets", StringComparison.OrdinalIgnoreCase))
        {
            TestSecrets.Register(value, "a webhook secret");
        }
        else if (key.Equals("Hubgate:ApiKey", StringComparison.OrdinalIgnoreCase))
        {
            TestSecrets.Register(value, "the API key");
        }
        else if (key.StartsWith("Hubgate:Clients:", StringComparison.OrdinalIgnoreCase) && key.EndsWith(":Key", StringComparison.OrdinalIgnoreCase))
        {
            TestSecrets.Register(value, "a client's key");
        }
    }

    /// <summary>The bodies of every 4xx and 5xx answer (first 64 KiB each), for secret scans.</summary>
    public ConcurrentQueue<string> ErrorBodies { get; } = new();

    /// <summary>A folder that belongs to this instance (database, key files).</summary>
    public string Directory { get; }

    /// <summary>The SQLite file, when the run is on SQLite.</summary>
    public string DatabasePath { get; }

    /// <summary><c>Database:Provider</c> and <c>ConnectionStrings:Hubgate</c> as the server uses them (for CLI runs on the same database).</summary>
    public Dictionary<string, string?> DatabaseSettings => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Database:Provider"] = _settings["Database:Provider"],
        ["ConnectionStrings:Hubgate"] = _settings["ConnectionStrings:Hubgate"],
    };

    /// <summary>Everything the server logged (Debug and up).</summary>
    public FakeLogCollector Logs { get; } = new();

    /// <summary>Every captured log line with its structured values, for assertions and secret scans.</summary>
    public string AllLogText() => string.Join('\n', Logs.GetSnapshot().Select(r =>
        r.Category + " " + r.Message + " " + r.Exception + " " + string.Join(' ', r.StructuredState?.Select(kv => kv.Key + "=" + kv.Value) ?? [])));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.AddLogging(logging => logging.AddProvider(new FakeLoggerProvider(Logs)));
            services.AddSingleton<IStartupFilter>(new ErrorBodyCapture(ErrorBodies));
            _services?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            if (disposing)
            {
                // The host is stopped: everything it logged, answered and wrote is final. No secret may be in any of it.
                TestSecrets.AssertNoneIn(
                    [("the logs", AllLogText()), .. ErrorBodies.Select(b => ("an error body", b))],
                    [DatabasePath, DatabasePath + "-wal", DatabasePath + "-journal"]);
            }
        }
        finally
        {
            TestDatabase.Delete(Directory);
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Keeps a copy of error answers' bodies: a tee on the response stream, read after the endpoint ran.</summary>
    private sealed class ErrorBodyCapture(ConcurrentQueue<string> bodies) : IStartupFilter
    {
        private const int Limit = 64 * 1024;

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, call) =>
            {
                var original = context.Response.Body;
                using var copy = new MemoryStream();
                context.Response.Body = new TeeStream(original, copy, Limit);
                try
                {
                    await call(context);
                }
                finally
                {
                    context.Response.Body = original;
                    if (context.Response.StatusCode >= 400)
                    {
                        bodies.Enqueue(System.Text.Encoding.UTF8.GetString(copy.GetBuffer(), 0, (int)copy.Length));
                    }
                }
            });
            next(app);
        };
    }

    private sealed class TeeStream(Stream inner, MemoryStream copy, int limit) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            Keep(buffer.AsSpan(offset, count));
            inner.Write(buffer, offset, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Keep(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            var room = limit - (int)copy.Length;
            if (room > 0)
            {
                copy.Write(bytes[..Math.Min(room, bytes.Length)]);
            }
        }
    }
}
