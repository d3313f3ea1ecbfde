namespace NeuralService.Api.Hosting;

/// <summary>The configuration is unsafe or unusable; the message tells the operator what to change.</summary>
public sealed class StartupRefusedException(string message) : InvalidOperationException(message);
