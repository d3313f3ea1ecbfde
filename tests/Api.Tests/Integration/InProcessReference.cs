using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Tests.Integration;

/// <summary>The project's own inference path without HTTP: the downloaded ONNX bytes registered in a registry of their
/// own and run by an <see cref="InferenceEngine"/> in this process.</summary>
internal static class InProcessReference
{
    public static async Task<float[]> PredictAsync(byte[] onnx, float[] x, int rows, int cols)
    {
        var dir = Directory.CreateTempSubdirectory("reference");
        try
        {
            using var registry = await ModelRegistry.OpenSqliteAsync(dir.FullName);
            var version = await registry.RegisterAsync("reference", onnx);
            await using var engine = new InferenceEngine(registry, new EngineOptions { UseCuda = false, Log = null });
            var input = version.Signature.Inputs.Single().Name;
            var outputs = await engine.InferAsync(version, [NamedTensor.Create(input, x, rows, cols)]);
            return outputs.Single().As<float>();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
