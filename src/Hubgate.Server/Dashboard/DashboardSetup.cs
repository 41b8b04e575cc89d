using Microsoft.AspNetCore.Authentication.Cookies;

namespace Hubgate.Server.Dashboard;

internal static class DashboardSetup
{
    public const string Scheme = "Hubgate.Dashboard";
    public const string Policy = "Hubgate.Dashboard";

    /// <summary>
    /// The dashboard's sign-in: a cookie issued in exchange for the API key (HttpOnly, SameSite=Strict, Secure on HTTPS,
    /// signed out after an hour without a request and eight hours after sign-in whatever happens, and at once when the
    /// client's key is rotated or removed), never the key in a URL; every form carries an antiforgery token.
    /// </summary>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddAuthentication(Scheme).AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = "hubgate.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = DashboardSession.IdleTimeout;
            cookie.SlidingExpiration = true;
            cookie.Events.OnValidatePrincipal = DashboardSession.ValidateAsync;
            cookie.LoginPath = "/signin";
            cookie.LogoutPath = "/signout";
        });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policy, policy => policy.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser());
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "hubgate.antiforgery";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        return builder;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        DashboardEndpoints.Map(app);
        return app;
    }
}
