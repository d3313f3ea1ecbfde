using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Engine;

public sealed class InferenceEngineTests
{
    private static NamedTensor Row(float start, int features = 3) =>
        NamedTensor.Create("x", Enumerable.Range(0, features).Select(i => start + i).ToArray(), 1, features);

    [Fact]
    public async Task Concurrent_requests_get_their_own_results_in_fewer_runs()
    {
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(50) });
        var v = await f.Registry.RegisterAsync("affine", TestModels.Affine());
        await f.Engine.GetRunnerAsync(v);
        var results = await Task.WhenAll(Enumerable.Range(0, 48).Select(i => Task.Run(() => f.Engine.InferAsync("affine", null, [Row(10 * i)]))));
        for (var i = 0; i < 48; i++)
        {
            var y = Assert.Single(results[i]);
            Assert.Equal("y", y.Name);
            Assert.Equal([1L, 3L], y.Dims);
            Assert.Equal(new[] { 20f * i + 1, 20f * i + 3, 20f * i + 5 }, y.As<float>());
        }
        var batcher = (await f.Engine.GetRunnerAsync(v)).Batcher;
        Assert.Equal(BatchMode.Concatenate, batcher.Mode);
        Assert.True(batcher.Runs < 48, $"{batcher.Runs} runs for 48 requests (the warm-up bypasses the batcher)");
        Assert.True(batcher.LargestBatch > 1, "no batch formed");
    }

    [Fact]
    public async Task Fixed_batch_of_one_model_runs_requests_one_by_one()
    {
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(20) });
        var v = await f.Registry.RegisterAsync("one", TestModels.FixedBatchOne());
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => f.Engine.InferAsync(v, [Row(i)])));
        for (var i = 0; i < 10; i++) Assert.Equal(new[] { i + 1f, i + 2f, i + 3f }, results[i][0].As<float>());
        var batcher = (await f.Engine.GetRunnerAsync(v)).Batcher;
        Assert.Equal(BatchMode.FixedBatchOfOne, batcher.Mode);
        Assert.Equal(10, batcher.Runs);
        Assert.Equal(1, batcher.LargestBatch);
    }

    [Fact]
    public async Task Inputs_are_validated_against_the_signature()
    {
        await using var f = await EngineFixture.CreateAsync();
        var v = await f.Registry.RegisterAsync("affine", TestModels.Affine());
        async Task<string> Error(params NamedTensor[] inputs) =>
            (await Assert.ThrowsAsync<InvalidInputException>(() => f.Engine.InferAsync(v, inputs))).Message;
        Assert.Contains("missing input 'x'", await Error());
        Assert.Contains("unknown input(s) 'z'", await Error(Row(0), NamedTensor.Create("z", [1f], 1)));
        Assert.Contains("must be float32, got float64", await Error(NamedTensor.Create("x", new double[3], 1, 3)));
        Assert.Contains("must have rank 2", await Error(NamedTensor.Create("x", new float[3], 3)));
        Assert.Contains("dimension 1 must be 3", await Error(NamedTensor.Create("x", new float[4], 1, 4)));
        Assert.Contains("given twice", await Error(Row(0), Row(1)));
        var e = Assert.Throws<InvalidInputException>(() => new NamedTensor("x", Onnx.TensorProto.Types.DataType.Float, [2, 3], new byte[5]));
        Assert.Contains("5 bytes do not fill shape [2,3]", e.Message);
        Assert.Equal(ErrorKind.Invalid, e.Kind);
    }

    [Fact]
    public async Task Versions_resolve_by_alias_and_unknown_models_are_not_found()
    {
        await using var f = await EngineFixture.CreateAsync();
        await f.Registry.RegisterAsync("m", TestModels.Affine());
        await f.Registry.RegisterAsync("m", TestModels.FixedBatchOne());
        await f.Registry.SetAliasAsync("m", "production", 1);
        var y = await f.Engine.InferAsync("m", "production", [NamedTensor.Create("x", new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3)]);
        Assert.Equal(new[] { 3f, 5f, 7f, 9f, 11f, 13f }, y[0].As<float>());
        var e = await Assert.ThrowsAsync<ModelNotFoundException>(() => f.Engine.InferAsync("nope", null, [Row(0)]));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public async Task Unload_drops_a_models_sessions_and_a_cached_session_of_another_file_is_never_served()
    {
        await using var f = await EngineFixture.CreateAsync();
        var x = NamedTensor.Create("x", new float[300], 300);
        var one = await f.Registry.RegisterAsync("m", TestModels.Large(300, 1));
        var two = await f.Registry.RegisterAsync("n", TestModels.Large(300, 2));
        Assert.Equal(1f, (await f.Engine.InferAsync(one, [x]))[0].As<float>()[0]);
        Assert.Equal(2f, (await f.Engine.InferAsync(two, [x]))[0].As<float>()[0]);
        f.Engine.Unload("m");
        Assert.Equal(["n/1"], f.Engine.LoadedVersions);
        // "m/1" loaded again, then the same name and number standing for another file (a model deleted and its
        // number reissued by a registry that reused numbers): the new file answers, not the cached session.
        Assert.Equal(1f, (await f.Engine.InferAsync(one, [x]))[0].As<float>()[0]);
        var reissued = one with { Sha256 = two.Sha256, SizeBytes = two.SizeBytes };
        Assert.Equal(2f, (await f.Engine.InferAsync(reissued, [x]))[0].As<float>()[0]);
        Assert.Equal(["m/1", "n/1"], f.Engine.LoadedVersions);
    }

    [Fact]
    public async Task Cuda_falls_back_to_cpu_with_one_log_line()
    {
        await using var f = await EngineFixture.CreateAsync();
        await f.Engine.InferAsync(await f.Registry.RegisterAsync("a", TestModels.Affine()), [Row(0)]);
        await f.Engine.InferAsync(await f.Registry.RegisterAsync("b", TestModels.Affine(features: 2)), [Row(0, 2)]);
        if (f.Engine.UsesCuda == true) return; // a GPU build of ONNX Runtime with a GPU: nothing to fall back from
        Assert.Single(f.Log, l => l.StartsWith("CUDA execution provider unavailable", StringComparison.Ordinal));
    }
}
