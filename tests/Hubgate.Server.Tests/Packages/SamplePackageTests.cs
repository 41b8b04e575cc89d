using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Xml.Linq;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;

namespace Hubgate.Server.Tests.Packages;

/// <summary>
/// The toolkit works outside the repository: samples/HubgateSample, built from the packages of this build (not from the
/// projects), runs as its own process against the fake GitHub — a signed push reaches its typed handler, and its calls
/// through Hubgate's HttpClient handler and through Octokit reach GitHub with an installation token Hubgate minted.
/// Once per suite: on the SQLite pass only (packing and building do not depend on the database).
/// </summary>
[Trait("Database", "Sqlite")]
public sealed class SamplePackageTests : IAsyncLifetime
{
    private const string Secret = "sample-webhook-secret";
    private const long Installation = 4711;
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60);

    private readonly ConcurrentQueue<string> _output = new();
    private FakeGitHubServer _gitHub = null!;
    private LocalPackages _packages = null!;
    private Process? _sample;

    public async Task InitializeAsync()
    {
        _gitHub = await FakeGitHubServer.StartAsync();
        _gitHub.AddInstallation(Installation, "octo-org");
        _gitHub.AddRepository(Installation, 90001, "octo-org", "widgets");
        _gitHub.AddRepository(Installation, 90002, "octo-org", "gadgets");
        _packages = await LocalPackages.PackAsync();
    }

    public async Task DisposeAsync()
    {
        if (_sample is not null)
        {
            if (!_sample.HasExited)
            {
                _sample.Kill(entireProcessTree: true);
                _sample.WaitForExit(10_000);
            }

            _sample.Dispose();
        }

        _packages?.Dispose();
        await _gitHub.DisposeAsync();
    }

    [Fact]
    public async Task Sample_BuiltFromThePackages_HandlesASignedPush_AndCallsGitHubAsTheInstallation()
    {
        Assert.True(File.Exists(Path.Combine(_packages.Feed, $"Hubgate.{_packages.Version}.nupkg")),
            $"No Hubgate package in {_packages.Feed}: {string.Join(", ", Directory.EnumerateFiles(_packages.Feed).Select(Path.GetFileName))}");
        var sampleDirectory = CopySample();
        await DotnetCommand.RunAsync(sampleDirectory, "build", "HubgateSample.csproj", "--configuration", "Release",
            $"-p:HubgatePackages={_packages.Feed}", $"-p:HubgateVersion={_packages.Version}");
        var assets = await File.ReadAllTextAsync(Path.Combine(sampleDirectory, "obj", "project.assets.json"));
        Assert.Contains($"\"Hubgate/{_packages.Version}\"", assets, StringComparison.Ordinal); // the package, not a project

        using var client = await StartSampleAsync(Path.Combine(sampleDirectory, "bin", "Release", "net10.0"));

        // A push as GitHub sent it (a recorded payload), signed as GitHub signs it, is stored (202) and then handled by
        // the sample's typed handler.
        var deliveryId = Guid.NewGuid().ToString();
        using (var delivery = WebhookFixtures.Delivery("/webhooks/github", "push", WebhookFixtures.Load("push", "with-installation.payload.json"), Secret, deliveryId))
        {
            using var accepted = await client.SendAsync(delivery);
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        var push = await WaitForPushAsync(client, deliveryId);
        Assert.Equal("Codertocat/Hello-World", push.GetProperty("repository").GetString());
        Assert.Equal("refs/tags/simple-tag", push.GetProperty("ref").GetString());
        Assert.Equal(0, push.GetProperty("commits").GetInt32());
        Assert.Contains(_output, line => line.Contains($"Push {deliveryId} to ", StringComparison.Ordinal));

        // GitHub through the HttpClient handler, then through Octokit: both as the installation, with a token Hubgate
        // minted with the App's JWT.
        _gitHub.ResetRequests();
        Assert.Equal(["octo-org/gadgets", "octo-org/widgets"],
            (await client.GetFromJsonAsync<string[]>($"/installations/{Installation}/repositories"))!.Order(StringComparer.Ordinal));
        Assert.Equal(["octo-org/gadgets", "octo-org/widgets"],
            (await client.GetFromJsonAsync<string[]>($"/installations/{Installation}/octokit/repositories"))!.Order(StringComparer.Ordinal));

        var listings = _gitHub.Requests.Where(r => r.Method == "GET" && r.Path == "/installation/repositories").ToList();
        Assert.Equal(2, listings.Count);
        Assert.All(listings, r => Assert.Equal((FakeCredential.InstallationToken, Installation, 200), (r.Credential, r.InstallationId, r.Status)));
        Assert.Contains(_gitHub.Requests, r => r.Method == "POST" && r.Path == $"/app/installations/{Installation}/access_tokens" && r.Credential == FakeCredential.Jwt);
    }

    [Fact]
    public async Task HubgatePackage_CarriesItsReadme_XmlDocs_AndMetadata()
    {
        using var package = ZipFile.OpenRead(Path.Combine(_packages.Feed, $"Hubgate.{_packages.Version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("README.md", entries);
        Assert.Contains("lib/net10.0/Hubgate.dll", entries);
        Assert.Contains("lib/net10.0/Hubgate.xml", entries);
        using var reader = new StreamReader(package.GetEntry("Hubgate.nuspec")!.Open());
        var nuspec = XDocument.Parse(await reader.ReadToEndAsync()).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Field(string name) => nuspec.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal((_packages.Version, "Hubgate contributors", "README.md"), (Field("version"), Field("authors"), Field("readme")));
        Assert.False(string.IsNullOrWhiteSpace(Field("description")));
        Assert.Contains("github", Field("tags") ?? "", StringComparison.Ordinal);
    }

    /// <summary>The sample's own files (not a developer's bin/obj) in a folder of their own, outside the repository.</summary>
    private string CopySample()
    {
        var source = Path.Combine(Checkout.Root, "samples", "HubgateSample");
        var target = Path.Combine(_packages.Root, "HubgateSample");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj")
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }

        return target;
    }

    /// <summary>Starts the built sample on a free loopback port, configured by environment variables, and waits until it answers.</summary>
    private async Task<HttpClient> StartSampleAsync(string binDirectory)
    {
        var port = ServerProcess.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = binDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(binDirectory, "HubgateSample.dll"));
        DotnetCommand.ShellEnvironment(start);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Urls"] = $"http://127.0.0.1:{port}";
        start.Environment["XDG_DATA_HOME"] = Path.Combine(_packages.Root, "data-home");
        start.Environment["ConnectionStrings__Hubgate"] = $"Data Source={Path.Combine(_packages.Root, "sample.db")}";
        start.Environment["GitHub__AppId"] = _gitHub.AppId.ToString(CultureInfo.InvariantCulture);
        start.Environment["GitHub__PrivateKey"] = _gitHub.PrivateKeyPkcs1Pem.Replace("\n", "\\n", StringComparison.Ordinal);
        start.Environment["GitHub__ApiBaseUrl"] = _gitHub.ApiBaseUrl.AbsoluteUri;
        start.Environment["GitHub__WebhookSecret"] = Secret;
        start.Environment["Webhooks__PollInterval"] = "00:00:00.100";

        _sample = Process.Start(start) ?? throw new InvalidOperationException("Could not start the sample.");
        _sample.OutputDataReceived += (_, e) => Keep(e.Data);
        _sample.ErrorDataReceived += (_, e) => Keep(e.Data);
        _sample.BeginOutputReadLine();
        _sample.BeginErrorReadLine();

        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_sample.HasExited)
            {
                await _sample.WaitForExitAsync();
                client.Dispose();
                throw new InvalidOperationException($"The sample exited with {_sample.ExitCode} while starting:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri("/pushes", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return client;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (waited.Elapsed > WaitLimit)
            {
                client.Dispose();
                throw new TimeoutException($"The sample did not answer within {WaitLimit.TotalSeconds} s:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    private async Task<JsonElement> WaitForPushAsync(HttpClient client, string deliveryId)
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < WaitLimit)
        {
            var pushes = await client.GetFromJsonAsync<JsonElement>("/pushes");
            foreach (var push in pushes.EnumerateArray())
            {
                if (push.GetProperty("deliveryId").GetString() == deliveryId)
                {
                    return push;
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The sample's push handler did not run within {WaitLimit.TotalSeconds} s:\n{Output}");
    }

    private string Output => string.Join('\n', _output);

    private void Keep(string? line)
    {
        if (line is not null && _output.Count < 2000)
        {
            _output.Enqueue(line);
        }
    }
}
