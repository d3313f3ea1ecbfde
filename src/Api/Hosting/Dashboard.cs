using Microsoft.Extensions.FileProviders;

namespace NeuralService.Api.Hosting;

/// <summary>The web dashboard at <c>/ui/</c>: static files embedded in this assembly (src/Api/wwwroot), so the service
/// serves it from any working directory or container with no CDN and nothing to install.</summary>
public static class Dashboard
{
    public const string Path = "/ui";

    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        var files = new EmbeddedFileProvider(typeof(Dashboard).Assembly, "NeuralService.Api.wwwroot");
        // "/ui" redirects to "/ui/" so the page's relative URLs and hash routes resolve under it.
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = Path });
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = Path,
            // Embedded files carry the build time, not their own: revalidate rather than trust a stale cached module.
            OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
        });
    }
}
