using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Jobs;

internal static class JobTestHelpers
{
    public static object JobBody(string dataset, string registerAs, int epochs = 2) => new
    {
        model = JsonDocument.Parse(TestModels.DenseJson).RootElement,
        dataset,
        compile = new { optimizer = "adam", learning_rate = 0.05, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
        fit = new { epochs, batch_size = 16 },
        device = "cpu",
        register_as = registerAs,
    };

    public static async Task<string> UploadBlobsAsync(HttpClient client, string name, int rows = 90)
    {
        var r = await client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(rows), name));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> SubmitAsync(HttpClient client, object body)
    {
        var r = await client.PostAsJsonAsync("/v1/jobs", body);
        Assert.True(r.StatusCode == HttpStatusCode.Accepted, await r.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
    }

    public static async Task<JsonElement> WaitAsync(HttpClient client, string id, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            if (job.GetProperty("state").GetString() is "succeeded" or "failed" or "canceled" or "interrupted") return job;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"job {id} still {job.GetProperty("state")}");
            await Task.Delay(100);
        }
    }
}
