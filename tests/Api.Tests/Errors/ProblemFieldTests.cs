using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Errors;

/// <summary>A refused job names the field at fault machine-readably: <c>errors</c> keyed by the request's JSON member
/// path (as ValidationProblemDetails does), with the detail as its message, so a form can show it next to that field.</summary>
public sealed class ProblemFieldTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RefusedJobFieldsAreNamedInErrors()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "blobs");
        JsonObject Body() => new()
        {
            ["model"] = JsonNode.Parse(TestModels.DenseJson),
            ["dataset"] = "blobs",
            ["compile"] = new JsonObject { ["optimizer"] = "adam", ["loss"] = "sparse_categorical_crossentropy", ["metrics"] = new JsonArray("accuracy") },
            ["fit"] = new JsonObject { ["epochs"] = 1, ["batch_size"] = 16 },
            ["register_as"] = "fields",
        };
        var cases = new (Action<JsonObject> Break, string Field, string DetailStart)[]
        {
            (b => b["fit"]!["epochs"] = 0, "fit.epochs", "fit.epochs must be in 1..100000"),
            (b => b["fit"]!["batch_size"] = -1, "fit.batch_size", "fit.batch_size must be"),
            (b => b["fit"]!["validation_split"] = 1.5, "fit.validation_split", "fit.validation_split must be"),
            (b => b["compile"]!["loss"] = "no_such_loss", "compile.loss", "compile.loss: unknown loss 'no_such_loss'"),
            (b => b["compile"]!["loss"] = new JsonArray("mse", "nope"), "compile.loss", "compile.loss[1]: unknown loss"),
            (b => b["compile"]!["optimizer"] = "adamm", "compile.optimizer", "compile.optimizer: unknown optimizer 'adamm'"),
            (b => b["compile"]!["learning_rate"] = -1, "compile.learning_rate", "compile.learning_rate must be"),
            (b => b["register_as"] = "bad name", "register_as", "register_as 'bad name' is invalid"),
            (b => b["rescale"] = 0, "rescale", "rescale must be"),
            (b => b["model"] = "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Nope\", \"config\": {}}]}}", "model", "model: "),
            (b => b["fit"]!["epochs"] = "five", "fit.epochs", "'fit.epochs' has a value of the wrong type"),
            (b => b["fit"]!["epoch"] = 3, "fit.epoch", "unknown field 'fit.epoch'"),
        };
        foreach (var (breakIt, field, detailStart) in cases)
        {
            var body = Body();
            breakIt(body);
            var response = await client.PostAsync("/v1/jobs", TestModels.Json(body.ToJsonString()));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{field}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(text).RootElement;
            var detail = problem.GetProperty("detail").GetString()!;
            Assert.StartsWith(detailStart, detail);
            var errors = problem.GetProperty("errors").EnumerateObject().ToList();
            Assert.True(errors.Count == 1 && errors[0].Name == field, $"expected errors.{field}: {text}");
            Assert.Equal([detail], errors[0].Value.EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Fact]
    public async Task ErrorsThatNameNoFieldOfTheBodyHaveNone()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        // The dataset does not exist: a 404 about a resource, its detail does not start with a member path.
        var missing = await client.PostAsJsonAsync("/v1/jobs", new { model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "nope", register_as = "x" });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.False(JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.TryGetProperty("errors", out _));
        // Not a job body at all; and an endpoint without a JSON body.
        var malformed = await client.PostAsync("/v1/jobs", TestModels.Json("{\"dataset\": "));
        Assert.False(JsonDocument.Parse(await malformed.Content.ReadAsStringAsync()).RootElement.TryGetProperty("errors", out _));
        var noJob = await client.GetAsync("/v1/jobs/job-nope");
        Assert.False(JsonDocument.Parse(await noJob.Content.ReadAsStringAsync()).RootElement.TryGetProperty("errors", out _));
    }
}
