using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Hubgate.TestSupport;

/// <summary>
/// A PostgreSQL 15 server of the test run's own: <c>initdb</c> into a temporary folder, <c>pg_ctl start</c> on
/// 127.0.0.1 with a free port (as the <c>postgres</c> user, or <c>nobody</c>, when the run is root — PostgreSQL refuses
/// to run as root), trust authentication for the role <c>hubgate</c>, no Unix socket. Stopped and deleted on
/// <see cref="DisposeAsync"/>; <see cref="Shared"/> lives until the test process exits.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable
{
    /// <summary>Where the binaries are: <c>HUBGATE_PG_BIN</c>, else the Debian PostgreSQL 15 folder.</summary>
    public static string Binaries => Environment.GetEnvironmentVariable("HUBGATE_PG_BIN") is { Length: > 0 } bin ? bin : "/usr/lib/postgresql/15/bin";

    private static readonly Lazy<ThrowawayPostgres> SharedServer = new(() =>
    {
        var server = StartAsync().GetAwaiter().GetResult();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _root;
    private readonly string? _runAs;
    private readonly Lock _templateLock = new();
    private string? _migratedTemplate;

    private ThrowawayPostgres(string root, string? runAs, int port)
    {
        _root = root;
        _runAs = runAs;
        Port = port;
    }

    /// <summary>One server for the whole test process (per-test databases are created in it).</summary>
    public static ThrowawayPostgres Shared => SharedServer.Value;

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_root, "data");

    public bool IsRunning { get; private set; }

    /// <summary>A connection string for <paramref name="database"/> as the trusted role <c>hubgate</c>.</summary>
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "hubgate",
            Database = database,
            Timeout = 5,
        }.ConnectionString;

    /// <summary>
    /// Creates and starts a server. <paramref name="durable"/> keeps PostgreSQL's default fsync behaviour (benchmarks);
    /// otherwise fsync is off, which survives a process crash but not a power cut — all a test needs.
    /// </summary>
    public static async Task<ThrowawayPostgres> StartAsync(bool durable = false, CancellationToken cancellationToken = default)
    {
        var initdb = Path.Combine(Binaries, "initdb");
        if (!File.Exists(initdb))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 is needed by the PostgreSQL half of the test suite and was not found: {initdb} does not exist. " +
                "Install it (Debian: apt-get install postgresql-15; test.sh does this when run as root) or point HUBGATE_PG_BIN at its bin folder.");
        }

        SweepLeftovers();
        var runAs = Environment.UserName == "root" ? (await RunAsync(null, "id", ["-u", "postgres"], cancellationToken, check: false)).ExitCode == 0 ? "postgres" : "nobody" : null;
        var root = Path.Combine(Path.GetTempPath(), "hubgate-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        if (runAs is not null)
        {
            await RunAsync(null, "chown", [runAs, root], cancellationToken);
        }

        var server = new ThrowawayPostgres(root, runAs, 0);
        try
        {
            await server.RunPgAsync(initdb, ["-D", server.DataDirectory, "-U", "hubgate", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], cancellationToken);
            var settings = new List<string>
            {
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = ''",
                "max_connections = 400",
                "shared_buffers = 64MB",
                "logging_collector = off",
                "log_min_messages = warning",
            };
            if (!durable)
            {
                settings.AddRange(["fsync = off", "synchronous_commit = off", "full_page_writes = off"]);
            }

            await File.AppendAllLinesAsync(Path.Combine(server.DataDirectory, "postgresql.conf"), settings, cancellationToken);

            // A free port can be taken between asking and binding: try a few.
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort();
                try
                {
                    await server.StartServerAsync(cancellationToken);
                    break;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                }
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server again (same folder, same port) after <see cref="StopAsync"/>.</summary>
    public async Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        await RunPgAsync(Path.Combine(Binaries, "pg_ctl"),
            ["-D", DataDirectory, "-l", Path.Combine(_root, "server.log"), "-o", $"-p {Port}", "-w", "-t", "60", "start"], cancellationToken);
        IsRunning = true;
    }

    /// <summary>Stops the server (<c>fast</c>: open connections are cut), keeping its data.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await RunPgAsync(Path.Combine(Binaries, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], cancellationToken);
        IsRunning = false;
    }

    /// <summary>
    /// The name of a database migrated once per server by <paramref name="migrate"/> (given a connection string to it
    /// without pooling), for <see cref="CreateDatabase"/> to copy: a server under test then finds no migration pending
    /// instead of applying every one of them again on each test's fresh database.
    /// </summary>
    public string MigratedTemplate(Func<string, Task> migrate)
    {
        ArgumentNullException.ThrowIfNull(migrate);
        lock (_templateLock)
        {
            if (_migratedTemplate is null)
            {
                const string name = "hg_migrated_template";
                CreateDatabase(name);
                migrate(new NpgsqlConnectionStringBuilder(ConnectionString(name)) { Pooling = false }.ConnectionString).GetAwaiter().GetResult();
                _migratedTemplate = name;
            }

            return _migratedTemplate;
        }
    }

    /// <summary>
    /// Creates a database (if it does not exist) as a copy of <paramref name="template"/> (by default PostgreSQL's empty
    /// <c>template1</c>) and returns its connection string.
    /// </summary>
    public string CreateDatabase(string name, string? template = null)
    {
        using var connection = new NpgsqlConnection(ConnectionString());
        connection.Open();
        using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", name);
        if (exists.ExecuteScalar() is null)
        {
            // FILE_COPY: a plain copy of the template's files, much faster than WAL-logging it on a test server.
            var from = template is null ? "" : $" TEMPLATE \"{template}\"";
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"{from} STRATEGY = FILE_COPY", connection);
            create.ExecuteNonQuery();
        }

        return ConnectionString(name);
    }

    /// <summary>Drops a database, closing whatever connections it still has.</summary>
    public void DropDatabase(string name)
    {
        if (!IsRunning)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(ConnectionString());
        connection.Open();
        using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        drop.ExecuteNonQuery();
    }

    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            try
            {
                await StopAsync();
            }
            catch (InvalidOperationException)
            {
                // Already gone; the folder is removed below either way.
            }
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Removes folders of earlier runs whose server is gone: the test host may be ended before its exit handler has
    /// deleted them. A folder is left alone while its postmaster runs, and for two minutes after it was made.
    /// </summary>
    private static void SweepLeftovers()
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), "hubgate-pg-*"))
        {
            try
            {
                if (DateTime.UtcNow - Directory.GetCreationTimeUtc(folder) < TimeSpan.FromMinutes(2))
                {
                    continue;
                }

                var pidFile = Path.Combine(folder, "data", "postmaster.pid");
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && IsAlive(pid))
                {
                    continue;
                }

                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task RunPgAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunAsync(_runAs, program, arguments, cancellationToken, check: false);
        if (result.ExitCode != 0)
        {
            var log = Path.Combine(_root, "server.log");
            var tail = File.Exists(log) ? string.Join('\n', (await File.ReadAllLinesAsync(log, cancellationToken)).TakeLast(20)) : "";
            throw new InvalidOperationException(
                $"PostgreSQL could not be started for the tests: {Path.GetFileName(program)} exited with {result.ExitCode}.\n{result.Output}\n{tail}".TrimEnd());
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string? runAs, string program, IReadOnlyList<string> arguments,
        CancellationToken cancellationToken, bool check = true)
    {
        var start = new ProcessStartInfo(runAs is null ? program : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (runAs is not null)
        {
            foreach (var a in (string[])["-u", runAs, "--", program])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} did not finish within 90 s.");
        }

        var output = (await stdout + await stderr).Trim();
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} exited with {process.ExitCode}: {output}");
        }

        return (process.ExitCode, output);
    }
}
