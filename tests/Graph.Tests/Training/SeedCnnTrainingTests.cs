
using System.IO.Compression;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

/// <summary>DESIGN.md's seed CNN trained through the compiled train step. Needs the autodiff and the Conv2D,
/// MaxPooling2D and Flatten layers.</summary>
[Trait("Needs", "Autodiff")]
public sealed class SeedCnnTrainingTests
{
    private const int Batch = 64;

    private static Sequential SeedCnn() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, 28, 28, 1] }),
        new Conv2D(new ConvConfig { Filters = 32, KernelSize = [3, 3], Activation = "relu" }),
        new MaxPooling2D(new PoolingConfig { PoolSize = [2, 2] }),
        new Conv2D(new ConvConfig { Filters = 64, KernelSize = [3, 3], Activation = "relu" }),
        new MaxPooling2D(new PoolingConfig { PoolSize = [2, 2] }),
        new Conv2D(new ConvConfig { Filters = 64, KernelSize = [3, 3], Activation = "relu" }),
        new Flatten(new FlattenConfig()),
        new Dense(64, "relu"),
        new Dense(10, "softmax"),
    ]);

    /// <summary>The first 64 Fashion-MNIST training images (scaled to [0, 1]) and labels.</summary>
    private static (float[] X, long[] Y) FixedBatch()
    {
        const string dir = "/usr/share/datasets/fashion-mnist";
        using var images = new GZipStream(File.OpenRead(Path.Combine(dir, "train-images-idx3-ubyte.gz")), CompressionMode.Decompress);
        using var labels = new GZipStream(File.OpenRead(Path.Combine(dir, "train-labels-idx1-ubyte.gz")), CompressionMode.Decompress);
        var pixels = new byte[16 + Batch * 28 * 28];
        images.ReadExactly(pixels);
        var y = new byte[8 + Batch];
        labels.ReadExactly(y);
        return (pixels.Skip(16).Select(p => p / 255f).ToArray(), y.Skip(8).Select(l => (long)l).ToArray());
    }

    [Fact]
    public void SeedCnnMemorizesOneBatchIn200Steps()
    {
        var model = SeedCnn();
        var compiled = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Adam(), ["accuracy"]);
        OnnxChecker.Check(compiled.Model);
        var (x, y) = FixedBatch();
        var sig = compiled.Signature;
        Feed[] batch = [Feed.F(sig.Features.Single(), x, Batch, 28, 28, 1), Feed.L(sig.Targets.Single(), y, Batch)];
        using var loop = new TrainingLoop(compiled);
        var first = loop.Step(batch, 0.001f)["loss"][0];
        var last = first;
        for (var k = 1; k < 200; k++) last = loop.Step(batch, 0.001f)["loss"][0];
        Assert.True(last < 0.05f, $"loss {first} → {last} after 200 steps");
    }
}

