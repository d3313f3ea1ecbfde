using NeuralService.Api.Hosting;

var app = ApiApp.Build(args);
app.Run();

/// <summary>Entry point type, public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
