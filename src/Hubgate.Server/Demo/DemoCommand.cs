using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Hubgate.Testing;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Hubgate.Server.Demo;

/// <summary>
/// <c>hubgate demo</c>: the service as it runs in production — same host, same pipeline — against a fake GitHub started
/// in-process on a free loopback port, on a temporary database (or <c>--data DIR</c>), with a short story played through
/// it; then it keeps running for the user to explore until Ctrl-C.
/// </summary>
internal sealed class DemoCommand : IAsyncDisposable
{
    /// <summary>The port the demo tries first, so that its links stay the same from one run to the next.</summary>
    public const int FriendlyPort = 5080;

    private static readonly Option<bool> NoBrowser = new("--no-browser") { Description = "Do not open the dashboard in a browser." };
    private static readonly Option<int?> Port = new("--port") { Description = $"The port to listen on, on 127.0.0.1 (default {FriendlyPort}, or a free one if it is taken)." };
    private static readonly Option<string?> Data = new("--data")
    {
        Description = "Keep the database in this folder (default: a temporary one, removed at exit; --data alone: ./data).",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly FakeGitHubServer _gitHub;
    private readonly IAnsiConsole _console;
    private readonly bool _openBrowser;
    private readonly bool _temporaryData;

    private DemoCommand(FakeGitHubServer gitHub, IAnsiConsole console, Uri baseUrl, string dataDirectory, bool temporaryData, bool openBrowser, string apiKey)
    {
        _gitHub = gitHub;
        _console = console;
        BaseUrl = baseUrl;
        DataDirectory = dataDirectory;
        _temporaryData = temporaryData;
        _openBrowser = openBrowser;
        ApiKey = apiKey;
    }

    /// <summary>Where the service listens (<c>http://127.0.0.1:PORT/</c>).</summary>
    public Uri BaseUrl { get; }

    /// <summary>The database's folder.</summary>
    public string DataDirectory { get; }

    /// <summary>The admin key of this run (the dashboard's sign-in, the API's bearer key).</summary>
    public string ApiKey { get; }

    /// <summary>The <c>demo</c> command for <c>hubgate --help</c> (the host runs it, not the command parser).</summary>
    public static Command Describe()
    {
        var command = new Command("demo", "Runs Hubgate against an embedded fake GitHub on a temporary database and plays a short story through it " +
                                          "(install, push, pull request, API calls, a retried delivery). No GitHub, no configuration.")
        {
            NoBrowser, Port, Data,
        };
        command.SetAction(_ => 0); // never reached: Program starts the demo's host before commands are parsed
        return command;
    }

    /// <summary>
    /// When the arguments ask for the demo, starts the fake GitHub and prepares the data folder; null otherwise. Bad
    /// arguments or a taken <c>--port</c> print why and set <paramref name="exitCode"/>.
    /// </summary>
    public static async Task<(DemoCommand? Demo, int? ExitCode)> StartIfAskedAsync(string[] args)
    {
        if (args is not ["demo", ..])
        {
            return (null, null);
        }

        var parse = new RootCommand("hubgate") { Describe() }.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"hubgate demo: {error.Message}");
            }

            return (null, 2);
        }

        if (parse.Action is System.CommandLine.Help.HelpAction)
        {
            return (null, await parse.InvokeAsync());
        }

        var console = CreateConsole();
        if (!TryChoosePort(parse.GetValue(Port), out var port, out var portNote))
        {
            await Console.Error.WriteLineAsync($"hubgate demo: {portNote}");
            return (null, 2);
        }

        var keep = parse.GetResult(Data) is not null;
        var dataDirectory = keep
            ? Path.GetFullPath(parse.GetValue(Data) is { Length: > 0 } folder ? folder : "data")
            : Directory.CreateTempSubdirectory("hubgate-demo-").FullName; // owner-only, as Hubgate wants its data folder

        var gitHub = await FakeGitHubServer.StartAsync(new FakeGitHubOptions
        {
            Slug = "hubgate-demo",
            AppName = "Hubgate demo",
            WebhookSecret = RandomNumberGenerator.GetHexString(40, lowercase: true),
        });
        var apiKey = "hg_demo_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        var demo = new DemoCommand(gitHub, console, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"), dataDirectory, !keep,
            !parse.GetValue(NoBrowser), apiKey);
        console.MarkupLine($"[bold]Hubgate demo[/]: a fake GitHub at {Markup.Escape(gitHub.ApiBaseUrl.AbsoluteUri)}, Hubgate at {Markup.Escape(demo.BaseUrl.AbsoluteUri)} " +
                           $"({Markup.Escape(portNote)}).");
        console.MarkupLine($"Data: {Markup.Escape(dataDirectory)} ({(keep ? "kept" : "temporary, removed at exit")}).");
        return (demo, null);
    }

    /// <summary>The service's configuration for the demo: the fake GitHub's App, the data folder, quick retries.</summary>
    public void Configure(WebApplicationBuilder builder)
    {
        var app = _gitHub.PrimaryApp;
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Provider"] = "Sqlite",
            ["Database:MigrateOnStartup"] = "true",
            ["ConnectionStrings:Hubgate"] = null,
            ["Hubgate:DataDirectory"] = DataDirectory,
            ["Hubgate:ApiKey"] = ApiKey,
            ["GitHub:AppId"] = app.Id.ToString(CultureInfo.InvariantCulture),
            ["GitHub:ClientId"] = app.ClientId,
            ["GitHub:PrivateKey"] = app.PrivateKeyPem,
            ["GitHub:WebhookSecret"] = app.WebhookSecret,
            ["GitHub:ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri,
            // The story's failing GitHub call is retried within seconds, not the production schedule's minutes.
            ["GitHub:RetryDelay"] = "00:00:00.2",
            ["Webhooks:RetryDelay"] = "00:00:02",
            // The story says what happens in words; the logs would repeat it (and the failure it provokes) at length.
            ["Logging:LogLevel:Default"] = "Error",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Error",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Error",
            ["Logging:LogLevel:Polly"] = "None",
        });
        builder.WebHost.UseUrls(BaseUrl.AbsoluteUri.TrimEnd('/'));
    }

    /// <summary>Starts the service, plays the story, then runs until Ctrl-C; 0 on a clean run.</summary>
    public async Task<int> RunAsync(WebApplication app)
    {
        await app.StartAsync();
        var stopping = app.Lifetime.ApplicationStopping;
        if (_openBrowser)
        {
            OpenBrowser(new Uri(BaseUrl, "/signin"));
        }

        var exit = 0;
        try
        {
            await new DemoStory(_gitHub, app.Services, BaseUrl, ApiKey, _console).PlayAsync(stopping);
            _console.MarkupLine($"[bold green]The story is done.[/] Hubgate and the fake GitHub keep running: open {Markup.Escape(BaseUrl.AbsoluteUri)} " +
                                $"and sign in with the admin key {Markup.Escape(ApiKey)} (the API takes it as Authorization: Bearer). Ctrl-C stops both.");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is DemoException or HttpRequestException or Octokit.ApiException or TimeoutException or
                                       System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            _console.MarkupLine($"[red]The story stopped:[/] {Markup.Escape(e.Message)}");
            exit = 1;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return exit;
    }

    public async ValueTask DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        if (_temporaryData)
        {
            SqliteConnection.ClearAllPools(); // pooled connections hold the database file open
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
                _console.MarkupLine($"Stopped. Removed {Markup.Escape(DataDirectory)}.");
            }
            catch (IOException e)
            {
                _console.MarkupLine($"[yellow]Stopped, but {Markup.Escape(DataDirectory)} could not be removed:[/] {Markup.Escape(e.Message)}");
            }
        }
        else
        {
            _console.MarkupLine($"Stopped. The database stays in {Markup.Escape(DataDirectory)}.");
        }
    }

    private static bool TryChoosePort(int? asked, out int port, out string note)
    {
        if (asked is { } chosen)
        {
            if (chosen is < 1 or > 65535)
            {
                port = 0;
                note = $"--port {chosen} is not a port (1 to 65535)";
                return false;
            }

            port = chosen;
            var free = IsFree(chosen);
            note = free ? $"port {chosen} as asked" : $"port {chosen} is in use; choose another with --port, or leave it out";
            return free;
        }

        if (IsFree(FriendlyPort))
        {
            port = FriendlyPort;
            note = $"port {FriendlyPort}";
            return true;
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        note = $"port {FriendlyPort} is taken, so port {port}";
        return true;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>xdg-open when the machine has it; a demo never fails for want of a browser.</summary>
    private void OpenBrowser(Uri url)
    {
        var opener = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "xdg-open")).FirstOrDefault(File.Exists);
        if (opener is null)
        {
            _console.MarkupLine($"Open {Markup.Escape(url.AbsoluteUri)} in a browser to watch (no xdg-open here).");
            return;
        }

        try
        {
            using var process = Process.Start(new ProcessStartInfo(opener, url.AbsoluteUri) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true });
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            _console.MarkupLine($"Could not open a browser ({Markup.Escape(e.Message)}): open {Markup.Escape(url.AbsoluteUri)} yourself.");
        }
    }

    /// <summary>Colour on a terminal; plain, unwrapped lines when piped (so links stay whole).</summary>
    private static IAnsiConsole CreateConsole()
    {
        var terminal = !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = 1000;
        }

        return console;
    }
}

/// <summary>A step of the story did not turn out as Hubgate promises; the message says which and what was seen.</summary>
internal sealed class DemoException(string message) : Exception(message);
