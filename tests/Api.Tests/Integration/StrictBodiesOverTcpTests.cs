using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Request bodies are strict over TCP, as the OpenAPI schemas say: a field no request object has (a typo such
/// as <c>fit.epoch</c>) is a 400 problem naming it by its JSON path and what is accepted, and nothing is stored; open
/// members (the Keras model JSON, loss forms) stay open.</summary>
public sealed class StrictBodiesOverTcpTests : IDisposable
{
    private readonly ServedModel _s = new();

    public void Dispose() => _s.Dispose();

    private static string JobBody(string extra) =>
        $$"""{"model": {{TestModels.DenseJson}}, "dataset": "{{ServedModel.Dataset}}", "register_as": "strict", "device": "cpu"{{extra}}}""";

    [Theory]
    [InlineData(""", "fit": {"epoch": 1}""", "fit.epoch", "epochs")]
    [InlineData(""", "registerAs": "x" """, "registerAs", "register_as")]
    [InlineData(""", "compile": {"optimizer": "sgd", "lr": 0.1}""", "compile.lr", "learning_rate")]
    [InlineData(""", "base_model_x": null""", "base_model_x", "base_model")]
    public async Task AnUnknownJobFieldIs400NamingItsPathAndStoresNothing(string extra, string field, string accepted)
    {
        var before = await _s.SnapshotAsync();
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/jobs", TestModels.Json(JobBody(extra))), 400);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains($"unknown field '{field}'", detail);
        Assert.Contains(accepted, detail);
        Assert.DoesNotContain("NeuralService.", detail); // no .NET type names

        var list = await _s.Client.GetAsync("/v1/jobs");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Empty(JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs").EnumerateArray());
        before.AssertSame(await _s.SnapshotAsync());
    }

    [Fact]
    public async Task AnUnknownFieldInABaseModelReferenceIsNamed()
    {
        var body = $$"""{"base_model": {"name": "mlp", "versoin": "1"}, "dataset": "{{ServedModel.Dataset}}", "register_as": "strict"}""";
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/jobs", TestModels.Json(body)), 400);
        Assert.Contains("unknown field 'base_model.versoin'", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AValidJobWithOpenKerasAndLossMembersIsStillAccepted()
    {
        // The Keras model JSON and the compile's loss/metrics forms are open objects: their own keys are not checked here.
        var body = JobBody(""", "compile": {"optimizer": "adam", "loss": ["sparse_categorical_crossentropy"], "metrics": ["accuracy"]}, "fit": {"epochs": 1, "batch_size": 8}""");
        var response = await _s.Client.PostAsync("/v1/jobs", TestModels.Json(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task AnAliasBodyWithAnExtraFieldIs400AndChangesNothing()
    {
        var before = await _s.SnapshotAsync();
        var problem = await ProblemAssert.IsProblemAsync(
            await _s.Client.PutAsync("/v1/models/mlp/aliases/staging", TestModels.Json("""{"version": 1, "force": true}""")), 400);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("unknown field 'force'", detail);
        Assert.Contains("version", detail);
        before.AssertSame(await _s.SnapshotAsync());

        Assert.Equal(HttpStatusCode.OK, (await _s.Client.PutAsync("/v1/models/mlp/aliases/staging", TestModels.Json("""{"version": 1}"""))).StatusCode);
    }
}
