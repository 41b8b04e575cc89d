using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Hubgate.TestSupport;

/// <summary>
/// A RabbitMQ node of the test run's own, from Debian's <c>rabbitmq-server</c> package, never its system service: its
/// own <c>epmd</c> on 127.0.0.1 and a free port (<c>ERL_EPMD_PORT</c>), so the machine's shared epmd is never touched;
/// its own node name, AMQP and distribution ports on 127.0.0.1, data, logs, configuration and Erlang cookie (HOME) in a
/// temporary folder; one user, <c>hubgate</c>, with a random password (registered with the secret scan). Stopped by PID
/// (the node's whole process tree, then epmd) and deleted on <see cref="DisposeAsync"/>. <see cref="StopAsync"/> and
/// <see cref="StartAsync(CancellationToken)"/> stop and start the same node again, with its ports and data.
/// </summary>
public sealed class ThrowawayRabbitMq : IAsyncDisposable
{
    /// <summary>The server script: <c>HUBGATE_RABBITMQ_SERVER</c>, else the Debian package's.</summary>
    public static string ServerScript => Environment.GetEnvironmentVariable("HUBGATE_RABBITMQ_SERVER") is { Length: > 0 } path ? path : "/usr/lib/rabbitmq/bin/rabbitmq-server";

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(90);
    private readonly string _root;
    private readonly string _node = "hubgate-" + Guid.NewGuid().ToString("N")[..10];
    private readonly Queue<string> _output = new();
    private Process? _epmd;
    private Process? _server;

    private ThrowawayRabbitMq(string root)
    {
        _root = root;
        Password = "rmq-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        TestSecrets.Register(Password, "the RabbitMQ password");
        Port = ServerProcess.FreePort();
        DistributionPort = ServerProcess.FreePort();
        EpmdPort = ServerProcess.FreePort();
    }

    public const string User = "hubgate";

    public string Password { get; }

    public int Port { get; }

    public int DistributionPort { get; }

    public int EpmdPort { get; }

    /// <summary>The broker's URI with its credentials, default vhost.</summary>
    public string Uri => $"amqp://{User}:{Password}@127.0.0.1:{Port}/";

    /// <summary>The same broker with a password it refuses.</summary>
    public string UriWithWrongPassword(string wrong) => $"amqp://{User}:{wrong}@127.0.0.1:{Port}/";

    public bool IsRunning => _server is { HasExited: false };

    /// <summary>What the node printed last (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>Creates the node's folder, starts its epmd and the node, and waits until AMQP answers.</summary>
    public static async Task<ThrowawayRabbitMq> StartNewAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(ServerScript))
        {
            throw new InvalidOperationException(
                $"RabbitMQ is needed by the RabbitMQ subscription tests and was not found: {ServerScript} does not exist. " +
                "Install it (Debian: apt-get install rabbitmq-server; test.sh does this when run as root) or point HUBGATE_RABBITMQ_SERVER at its rabbitmq-server script.");
        }

        var root = Path.Combine(Path.GetTempPath(), "hubgate-rmq-" + Guid.NewGuid().ToString("N")[..12]);
        foreach (var folder in new[] { "home", "mnesia", "log" })
        {
            Directory.CreateDirectory(Path.Combine(root, folder));
        }

        var node = new ThrowawayRabbitMq(root);
        await File.WriteAllTextAsync(Path.Combine(root, "rabbitmq.conf"), string.Join('\n',
            $"listeners.tcp.1 = 127.0.0.1:{node.Port}",
            $"default_user = {User}",
            $"default_pass = {node.Password}",
            "loopback_users = none",
            "disk_free_limit.absolute = 1MB",
            "log.console = false",
            "log.file.level = warning",
            ""), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(root, "enabled_plugins"), "[].\n", cancellationToken);
        try
        {
            node._epmd = node.Launch("epmd", ["-address", "127.0.0.1", "-port", node.EpmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], []);
            await node.StartAsync(cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the node (again: same ports, same data) and waits until AMQP answers, within 90 s.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            return;
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        _server = Launch(ServerScript, [], new Dictionary<string, string>
        {
            ["HOME"] = Path.Combine(_root, "home"),
            ["ERL_EPMD_PORT"] = EpmdPort.ToString(invariant),
            ["ERL_EPMD_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODENAME"] = $"{_node}@localhost",
            ["RABBITMQ_NODE_IP_ADDRESS"] = "127.0.0.1",
            ["RABBITMQ_NODE_PORT"] = Port.ToString(invariant),
            ["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(invariant),
            ["RABBITMQ_MNESIA_BASE"] = Path.Combine(_root, "mnesia"),
            ["RABBITMQ_LOG_BASE"] = Path.Combine(_root, "log"),
            ["RABBITMQ_CONFIG_FILE"] = Path.Combine(_root, "rabbitmq.conf"),
            ["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(_root, "enabled_plugins"),
            ["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] = "-kernel inet_dist_use_interface {127,0,0,1}",
        });

        var clock = Stopwatch.StartNew();
        while (!await AnswersAsync(cancellationToken))
        {
            if (_server.HasExited)
            {
                throw new InvalidOperationException($"RabbitMQ exited with {_server.ExitCode} while starting:\n{Output}\n{LogTail()}");
            }

            if (clock.Elapsed > StartBound)
            {
                throw new TimeoutException($"RabbitMQ did not answer AMQP on 127.0.0.1:{Port} within {StartBound.TotalSeconds} s:\n{Output}\n{LogTail()}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Stops the node: SIGTERM to the Erlang VM (RabbitMQ shuts down cleanly), then, if it is still there after 20 s,
    /// SIGKILL to the node's whole process tree. Its epmd stays up for the next start.
    /// </summary>
    public async Task StopAsync()
    {
        if (_server is not { } server)
        {
            return;
        }

        _server = null;
        if (!server.HasExited)
        {
            foreach (var pid in Descendants(server.Id).Where(p => ProcessName(p) == "beam.smp"))
            {
                _ = Kill(pid, Sigterm);
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await server.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException)
            {
            }

            KillTree(server);
        }

        server.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_epmd is { } epmd)
        {
            KillTree(epmd);
            epmd.Dispose();
            _epmd = null;
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Whether the node answers the AMQP 0-9-1 protocol header with a method frame (connection.start).</summary>
    private async Task<bool> AnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("AMQP\0\0\u0009\u0001"u8.ToArray(), timeout.Token);
            var first = new byte[1];
            return await stream.ReadAsync(first, timeout.Token) == 1 && first[0] == 1;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private Process Launch(string file, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > 200)
            {
                _output.Dequeue();
            }
        }
    }

    private string LogTail()
    {
        var log = Directory.EnumerateFiles(Path.Combine(_root, "log"), "*.log").FirstOrDefault();
        return log is null ? "(no log)" : string.Join('\n', File.ReadLines(log).TakeLast(30));
    }

    private static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }

    /// <summary>Every process below <paramref name="pid"/>, from /proc (children of each of its threads).</summary>
    private static List<int> Descendants(int pid)
    {
        var found = new List<int>();
        var pending = new Queue<int>([pid]);
        while (pending.Count > 0 && found.Count < 1000)
        {
            var current = pending.Dequeue();
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{current}/task"))
                {
                    var children = File.ReadAllText(Path.Combine(task, "children"));
                    foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (int.TryParse(child, out var childPid) && !found.Contains(childPid))
                        {
                            found.Add(childPid);
                            pending.Enqueue(childPid);
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile
            }
        }

        return found;
    }

    private static string? ProcessName(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private const int Sigterm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public override string ToString() => new StringBuilder().Append("RabbitMQ node ").Append(_node).Append(" on 127.0.0.1:").Append(Port).ToString();
}
