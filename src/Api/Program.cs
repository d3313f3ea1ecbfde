using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;

try
{
    if (args is ["worker", ..]) return await WorkerMode.RunAsync(args);
    if (args is ["healthcheck", ..]) return await HealthCheckCommand.RunAsync(args);
    var app = ApiApp.Build(args);
    // Process-wide (ASP.NET reads ASPNETCORE_TEMP once), so set by the entry point rather than by ApiApp.Build.
    TempFiles.UseDataDirectory(app.Services.GetRequiredService<IOptions<NeuralOptions>>().Value);
    var guard = app.Services.GetRequiredService<BindGuard>();
    await app.RunAsync();
    guard.ThrowIfRefused();
    return 0;
}
catch (StartupRefusedException e)
{
    Console.Error.WriteLine($"neural-service: {e.Message}");
    return 2;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"neural-service: invalid configuration: {string.Join("; ", e.Failures)}");
    return 2;
}

/// <summary>Entry point type, public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
