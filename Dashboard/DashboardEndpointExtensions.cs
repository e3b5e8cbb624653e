using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.FileProviders;

namespace Analytics.Dashboard;

public static class DashboardEndpointExtensions
{
    /// <summary>
    /// Serves the dashboard's pages from this assembly's embedded <c>wwwroot</c>, so the web host needs no files on disk
    /// (the same in development, in tests and in a container).
    /// </summary>
    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        var files = new ManifestEmbeddedFileProvider(typeof(DashboardEndpointExtensions).Assembly, "wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
