namespace Hubgate.Server.Hosting;

/// <summary>
/// How the service and the commands build their host, wherever they are started from: the content root is the folder
/// of the program (so <c>appsettings.json</c> beside it is read from any working directory, as a published
/// <c>hubgate</c> run by systemd or from a shell expects), and the service listens on
/// <see cref="DefaultUrl"/> only when no address is configured anywhere, so <c>ASPNETCORE_URLS</c>,
/// <c>ASPNETCORE_HTTP_PORTS</c>, <c>Urls</c>, <c>--urls</c> and <c>Kestrel:Endpoints</c> all work as in any ASP.NET Core
/// app (a default in appsettings.json would override the <c>ASPNETCORE_</c> variables, which are read before it).
/// </summary>
internal static class HubgateHost
{
    /// <summary>Where the service listens when nothing else is configured: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

    /// <summary>Listens on <see cref="DefaultUrl"/> unless an address is configured.</summary>
    public static void UseDefaultAddress(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        var configured = !string.IsNullOrWhiteSpace(configuration["urls"])
            || !string.IsNullOrWhiteSpace(configuration["http_ports"])
            || !string.IsNullOrWhiteSpace(configuration["https_ports"])
            || configuration.GetSection("Kestrel:Endpoints").Exists();
        if (!configured)
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
    }
}
