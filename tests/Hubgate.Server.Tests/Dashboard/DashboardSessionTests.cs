using System.Net;
using Hubgate.Testing;
using Hubgate.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using static Hubgate.Server.Tests.Access.ClientHosts;

namespace Hubgate.Server.Tests.Dashboard;

/// <summary>
/// Dashboard sessions through the real cookie flow (sign-in form with its antiforgery token, the session cookie sent
/// back): a session is bound to the key it was signed in with, and lives at most eight hours however active.
/// </summary>
public sealed partial class DashboardSessionTests : IAsyncLifetime, IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
    private FakeGitHubServer _gitHub = null!;
    private HubgateApplication _app = null!;

    public async Task InitializeAsync()
    {
        _gitHub = await StartGitHubAsync();
        _app = new HubgateApplication(Settings(_gitHub), services => services.AddSingleton<TimeProvider>(_time));
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _gitHub.DisposeAsync();
    }

    public void Dispose() => _app.Dispose();

    /// <summary>A browser (cookies kept, redirects not followed) after posting the sign-in form with <paramref name="key"/>.</summary>
    private Task<(HttpClient Browser, HttpResponseMessage Answer)> SignInAsync(string key) => DashboardSignIn.SignInAsync(_app, key);

    private static async Task<string> HomeAsync(HttpClient browser)
    {
        var response = await browser.GetAsync(new Uri("/", UriKind.Relative));
        return response.StatusCode == HttpStatusCode.OK ? "page" : $"{(int)response.StatusCode} {response.Headers.Location}";
    }

    [Fact]
    public async Task RotatingTheKey_EndsTheSessionsSignedInWithIt_AtTheNextRequest()
    {
        var key = await AddAsync(_app, new { name = "ops", admin = true });
        var (browser, signIn) = await SignInAsync(key);
        using (browser)
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
            Assert.Equal("/", signIn.Headers.Location?.OriginalString);
            Assert.Equal("page", await HomeAsync(browser));

            var rotated = await RotateAsync(_app, "ops");

            Assert.StartsWith("302 http://localhost/signin", await HomeAsync(browser), StringComparison.Ordinal);
            var (again, _) = await SignInAsync(rotated);
            using (again)
            {
                Assert.Equal("page", await HomeAsync(again));
            }
        }
    }

    [Fact]
    public async Task RemovingTheClient_EndsItsSessions_AtTheNextRequest()
    {
        var key = await AddAsync(_app, new { name = "ops", admin = true });
        var (browser, _) = await SignInAsync(key);
        using (browser)
        {
            Assert.Equal("page", await HomeAsync(browser));

            await SendAsync(_app, AdminKey, HttpMethod.Delete, "/api/clients/ops");

            Assert.StartsWith("302 http://localhost/signin", await HomeAsync(browser), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AClientWithoutTheAdminRight_CannotSignIn()
    {
        var key = await AddAsync(_app, new { name = "ci" });

        var (browser, signIn) = await SignInAsync(key);
        using (browser)
        {
            Assert.Equal("/signin?failed=1", signIn.Headers.Location?.OriginalString);
            Assert.StartsWith("302 http://localhost/signin", await HomeAsync(browser), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ASession_EndsEightHoursAfterSignIn_HoweverActive()
    {
        var (browser, _) = await SignInAsync(AdminKey);
        using (browser)
        {
            // A request every 50 minutes keeps the idle timeout (1 hour) from ever ending the session.
            var pages = new List<string>();
            for (var step = 1; step <= 10; step++)
            {
                _time.Advance(TimeSpan.FromMinutes(50));
                pages.Add(await HomeAsync(browser));
            }

            Assert.All(pages[..9], page => Assert.Equal("page", page)); // up to 7 h 30 min
            Assert.StartsWith("302 http://localhost/signin", pages[9], StringComparison.Ordinal); // 8 h 20 min
        }
    }
}
