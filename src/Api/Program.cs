using NeuralService.Api.Hosting;

try
{
    if (args is ["worker", ..]) return await WorkerMode.RunAsync(args);
    if (args is ["healthcheck", ..]) return await HealthCheckCommand.RunAsync(args);
    var app = ApiApp.Build(args);
    // Process-wide (ASP.NET reads ASPNETCORE_TEMP once), so set by the entry point rather than by ApiApp.Build.
    // Read from configuration, not the validated options: invalid options must fail in RunAsync, where hosts report it.
    TempFiles.UseDataDirectory(app.Configuration[$"{NeuralOptions.Section}:DataDirectory"] ?? new NeuralOptions().DataDirectory);
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

/// <summary>Entry point type, public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
