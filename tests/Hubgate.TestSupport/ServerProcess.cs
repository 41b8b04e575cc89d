using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hubgate.TestSupport;

/// <summary>
/// The built server (<c>src/Hubgate.Server</c>'s own output) as a separate operating-system process on 127.0.0.1,
/// configured through environment variables the way an operator would: for tests of several replicas and of
/// <c>kill -9</c>. Stopped by its PID.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private const int MaxOutputLines = 400;
    private readonly Process _process;
    private readonly Queue<string> _output = new();

    private ServerProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
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

    /// <summary>Starts the server with <paramref name="settings"/> (configuration keys) and waits until /healthz answers.</summary>
    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken = default) =>
        StartAsync(settings, FreePort(), cancellationToken);

    /// <summary>As <see cref="StartAsync(IReadOnlyDictionary{string, string?}, CancellationToken)"/>, on a port chosen first (settings that name the server's own address).</summary>
    public static Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, int port, CancellationToken cancellationToken = default) =>
        StartAsync(BuiltServer, settings, port, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(IReadOnlyDictionary{string, string?}, CancellationToken)"/>, but the server is
    /// <paramref name="executable"/> (a published <c>hubgate</c>), run from its own folder as an operator would.
    /// </summary>
    public static Task<ServerProcess> StartExecutableAsync(string executable, IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken = default) =>
        StartAsync(PublishedServer(executable), settings, FreePort(), cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(IReadOnlyDictionary{string, string?}, CancellationToken)"/>, started from
    /// <paramref name="workingDirectory"/> and given its address in the environment variable <paramref name="addressVariable"/>
    /// (e.g. <c>ASPNETCORE_URLS</c>) rather than <c>Urls</c>: how an operator's shell or unit may start it.
    /// </summary>
    public static Task<ServerProcess> StartFromAsync(string workingDirectory, string addressVariable, IReadOnlyDictionary<string, string?> settings,
        CancellationToken cancellationToken = default) =>
        StartAsync(BuiltServer with { WorkingDirectory = workingDirectory }, settings, FreePort(), cancellationToken, addressVariable);

    private static async Task<ServerProcess> StartAsync(ServerCommand command, IReadOnlyDictionary<string, string?> settings, int port, CancellationToken cancellationToken,
        string addressVariable = "Urls")
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        var start = StartInfo(command, settings, [], baseAddress, addressVariable);
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server process.");
        var server = new ServerProcess(process, baseAddress);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                // The exit can be seen before the redirected output is read to its end: wait for the end of both
                // streams, or the reason the server gave may be missing from the message.
                await process.WaitForExitAsync(cancellationToken);
                throw new InvalidOperationException($"The server exited with {process.ExitCode} while starting:\n{server.Output}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                await server.DisposeAsync();
                throw new TimeoutException($"The server did not answer /healthz within 60 s:\n{server.Output}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Starts <c>hubgate <paramref name="args"/></c> (a command that serves, such as <c>demo</c>) as its own process
    /// listening at <paramref name="baseAddress"/>, without waiting for it: follow it with <see cref="WaitForOutputAsync"/>.
    /// </summary>
    public static ServerProcess StartCommand(IReadOnlyDictionary<string, string?> settings, Uri baseAddress, params string[] args)
    {
        var process = Process.Start(StartInfo(BuiltServer, settings, args, baseAddress: null)) ?? throw new InvalidOperationException("Could not start hubgate.");
        var server = new ServerProcess(process, baseAddress);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits until the process has written <paramref name="text"/>; throws with its output when it exits first or <paramref name="bound"/> passes.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan bound)
    {
        var waited = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The process exited with {_process.ExitCode} before writing '{text}':\n{Output}");
            }

            if (waited.Elapsed > bound)
            {
                throw new TimeoutException($"The process did not write '{text}' within {bound.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// SIGINT, as Ctrl-C in a terminal sends it (by <c>kill -INT</c> and the PID), then waits for the exit within
    /// <paramref name="bound"/>: the exit code; throws with the output when the process does not stop.
    /// </summary>
    public async Task<int> InterruptAsync(TimeSpan bound)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })
                          ?? throw new InvalidOperationException("Could not run kill."))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The process did not stop within {bound.TotalSeconds} s of SIGINT:\n{Output}");
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Runs <c>hubgate <paramref name="args"/></c> as its own process with <paramref name="settings"/> (configuration keys,
    /// or plain environment variables such as <c>XDG_DATA_HOME</c>) and waits for it (60 s at most): its exit code, stdout and stderr.
    /// </summary>
    public static Task<(int Exit, string Output, string Error)> RunCommandAsync(IReadOnlyDictionary<string, string?> settings, params string[] args) =>
        RunCommandAsync(BuiltServer, settings, args);

    /// <summary>As <see cref="RunCommandAsync(IReadOnlyDictionary{string, string?}, string[])"/> with <paramref name="executable"/> (a published <c>hubgate</c>).</summary>
    public static Task<(int Exit, string Output, string Error)> RunExecutableAsync(string executable, IReadOnlyDictionary<string, string?> settings, params string[] args) =>
        RunCommandAsync(PublishedServer(executable), settings, args);

    private static async Task<(int Exit, string Output, string Error)> RunCommandAsync(ServerCommand command, IReadOnlyDictionary<string, string?> settings, string[] args)
    {
        using var process = Process.Start(StartInfo(command, settings, args, baseAddress: null)) ?? throw new InvalidOperationException("Could not start hubgate.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"hubgate {string.Join(' ', args)} did not exit within 60 s.");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>How the server is started: a program, the arguments before hubgate's own, and the folder it runs in.</summary>
    private sealed record ServerCommand(string FileName, string[] Prefix, string WorkingDirectory);

    /// <summary>The build output, through <c>dotnet</c>.</summary>
    private static ServerCommand BuiltServer => new("dotnet", [Path.Combine(ServerDirectory, "Hubgate.Server.dll")], ServerDirectory);

    private static ServerCommand PublishedServer(string executable) =>
        new(Path.GetFullPath(executable), [], Path.GetDirectoryName(Path.GetFullPath(executable))!);

    private static ProcessStartInfo StartInfo(ServerCommand command, IReadOnlyDictionary<string, string?> settings, string[] args, Uri? baseAddress,
        string addressVariable = "Urls")
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = command.WorkingDirectory,
        };
        foreach (var arg in command.Prefix.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (baseAddress is not null)
        {
            start.Environment[addressVariable] = baseAddress.AbsoluteUri.TrimEnd('/');
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return start;
    }

    /// <summary>An HTTP client for this server.</summary>
    public HttpClient CreateClient() => new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
    {
        BaseAddress = BaseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>SIGKILL: no shutdown code runs, as when a machine or container dies.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            if (_process.WaitForExit(10_000))
            {
                _process.WaitForExit(); // and the redirected output read to its end
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The server's build output for the configuration the tests were built in.</summary>
    private static string ServerDirectory
    {
        get
        {
            var testBin = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            var framework = Path.GetFileName(testBin);
            var configuration = Path.GetFileName(Path.GetDirectoryName(testBin)!);
            var directory = Path.Combine(Checkout.Root, "src", "Hubgate.Server", "bin", configuration, framework);
            return File.Exists(Path.Combine(directory, "Hubgate.Server.dll"))
                ? directory
                : throw new InvalidOperationException($"The server is not built at {directory}.");
        }
    }

    /// <summary>A loopback port free right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
            while (_output.Count > MaxOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    public override string ToString() => new StringBuilder().Append("server pid ").Append(Pid).Append(" at ").Append(BaseAddress).ToString();
}
