using NeuralService.Api.Hosting;

try
{
    if (args is ["worker", ..]) return await WorkerMode.RunAsync(args);
    if (args is ["healthcheck", ..]) return await HealthCheckCommand.RunAsync(args);
    await ApiApp.Build(args).RunAsync();
    return 0;
}
catch (StartupRefusedException e)
{
    Console.Error.WriteLine($"neural-service: {e.Message}");
    return 2;
}

/// <summary>Entry point type, public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
