using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Dataset ids and names over TCP: an upload cannot take another dataset's id as its name, so an id always
/// reaches the dataset it was handed out for (GET and DELETE).</summary>
public sealed class DatasetIdsOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    [Fact]
    public async Task ANameEqualToAnotherDatasetsIdIsRefusedAndTheIdStillResolves()
    {
        var victim = await UploadAsync("victim");
        var id = victim.GetProperty("id").GetString()!;

        var before = await _s.SnapshotAsync();
        var impostor = await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(6), id));
        var problem = await ProblemAssert.IsProblemAsync(impostor, 400);
        Assert.Contains("id", problem.GetProperty("detail").GetString());
        before.AssertSame(await _s.SnapshotAsync());
        // Any id-shaped name is refused, not only the id of a dataset that exists now.
        await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(6), "ds-0123456789ab")), 400);

        var got = JsonDocument.Parse(await _s.Client.GetStringAsync($"/v1/datasets/{id}")).RootElement;
        Assert.Equal("victim", got.GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync($"/v1/datasets/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync($"/v1/datasets/{id}")).StatusCode);
    }

    private async Task<JsonElement> UploadAsync(string name)
    {
        var r = await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(6), name));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
    }
}
