using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Training.Data;

namespace NeuralService.Applications.Tests;

/// <summary>The split ResNet18 against the untouched ML.NET model in ONNX Runtime, and the PyTorch peer's network
/// (bench/apps/resnet_transfer.py, weights read from the same ONNX file) against both.</summary>
public sealed class ResNetBaseTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("resnet-base");
    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Two test images: the bottom session, then the layer4 cut and a global average pool, give the original
    /// model's pooled features (ResNetPreprocess then ResNet18.onnx at its fixed batch of 1); the peer's torch network
    /// gives the same layer4 input and pooled features within 1e-4 of the largest value.</summary>
    [Fact]
    public void SplitNetworkAndTorchPeerMatchTheOriginalModel()
    {
        var dir = ResNetTransfer.ModelDirectory();
        var all = BuiltinDatasets.Load("fashion-mnist:test");
        const int n = 2;
        var images = DataArray.Create(all.Features.As<byte>().AsSpan(0, n * 784).ToArray().Select(v => (float)v).ToArray(), n, 28, 28);

        using var resnet = new ResNetBase(dir);
        var bottom = resnet.Features(images);
        var top = resnet.Top.ToModel();
        using var topSession = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(top));
        using var topOut = topSession.Run([NamedOnnxValue.CreateFromTensor(top.Graph.Input[0].Name,
            new DenseTensor<float>(bottom.ToFloat32(), [n, .. ResNetBase.Layer4InputShape]))]);
        var layer4 = topOut.First().AsTensor<float>().ToArray();
        var pooledHere = new float[n * 512];
        for (var i = 0; i < n * 512; i++) pooledHere[i] = layer4.AsSpan(i * 49, 49).ToArray().Average();

        var original = Original(dir, images);
        var scale = original.Max(MathF.Abs);
        Assert.True(scale > 0);
        for (var i = 0; i < original.Length; i++)
            Assert.True(Math.Abs(original[i] - pooledHere[i]) <= 1e-4 * scale, $"feature {i}: {pooledHere[i]} vs {original[i]}");

        var path = Path.Combine(_dir.FullName, "reference.npz");
        Npz.Write(path, new Dictionary<string, DataArray>
        {
            ["images"] = images,
            ["layer4_input"] = bottom,
            ["pooled"] = DataArray.Create(original, n, 512),
        });
        var script = Path.Combine(Common.RepoRoot(), "bench", "apps", "resnet_transfer.py");
        var (code, stdout, stderr) = Exec("/usr/bin/python3", script, "--verify", path);
        output.WriteLine($"split network vs original: max |diff| {original.Zip(pooledHere).Max(p => Math.Abs(p.First - p.Second)):G3} (largest feature {scale:G3}); torch peer: {stdout.Trim()}");
        Assert.True(code == 0, $"torch peer differs from ONNX Runtime (exit {code}): {stdout} {stderr}");
        Assert.Contains("max_abs_diff", stdout);
    }

    private static float[] Original(string dir, DataArray images)
    {
        using var prep = new InferenceSession(Path.Combine(dir, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        using var net = new InferenceSession(Path.Combine(dir, "ResNet18Onnx", "ResNet18.onnx"));
        var pixels = images.ToFloat32();
        var result = new float[images.Count * 512];
        var input = new DenseTensor<float>([1, 3, ResNetBase.Size, ResNetBase.Size]);
        for (var i = 0; i < images.Count; i++)
        {
            ResNetBase.Upsample(pixels.AsSpan(i * 784, 784), 28, input.Buffer.Span);
            using var prepped = prep.Run([NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), input)]);
            using var pooled = net.Run([NamedOnnxValue.CreateFromTensor(net.InputMetadata.Keys.Single(), prepped.First().AsTensor<float>())]);
            pooled.First().AsTensor<float>().ToArray().CopyTo(result, i * 512);
        }
        return result;
    }

    private static (int Code, string Stdout, string Stderr) Exec(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) p.Kill(entireProcessTree: true);
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
