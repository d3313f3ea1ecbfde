using NeuralService.Api.Datasets;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Api.Jobs;
using Microsoft.AspNetCore.Mvc;

namespace NeuralService.Api.Endpoints;

/// <summary>Training data: multipart uploads (CSV, NPY, NPZ, IDX, gzipped IDX) and the installed built-in sets.</summary>
public static class DatasetEndpoints
{
    public static void MapDatasetEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/datasets").WithTags("Datasets").ProducesProblem(400).ProducesProblem(429).ProducesProblem(500);

        g.MapGet("", (int? limit, [FromQuery(Name = "page_token")] string? pageToken, DatasetStore store) =>
            {
                var q = Paging.Read(limit, pageToken, "datasets");
                var (page, next) = Paging.Page(store.List(), d => d.Builtin ? "0|" + d.Id : "1|" + Paging.NumberKey(d.CreatedAt?.UtcTicks ?? 0) + "|" + d.Id, q, "datasets");
                return new DatasetList(page, next);
            })
            .WithName("ListDatasets").WithSummary("List datasets")
            .WithDescription("The built-in datasets (fashion-mnist, fashion-mnist:test, when installed), then every upload, oldest first. " + Paging.Description);
        g.MapGet("/{id}", (string id, DatasetStore store) => store.Get(id)).WithName("GetDataset")
            .WithSummary("Get a dataset").WithDescription("{id} is a dataset id or a name.").ProducesProblem(404);

        g.MapGet("/{id}/samples/{index}", (string id, string index, DatasetStore store) => store.Sample(id, SampleIndex(index)))
            .WithName("GetDatasetSample").WithSummary("One sample of a dataset")
            .WithDescription("Sample {index} (from 0) of dataset {id} (an id or a name, built-ins included): the first feature array's "
                + "values as stored (0–255 for 8-bit images), flat in row-major order, with the sample's shape and type; its label and, "
                + "where the dataset names its classes, the class name. 404 beyond the last sample.")
            .Produces<DatasetSample>().ProducesProblem(404);

        g.MapPost("", async (HttpContext http, DatasetStore store, CancellationToken ct) =>
            {
                if (!http.Request.HasFormContentType) throw ApiException.BadRequest("upload a dataset as multipart/form-data with a field 'file'");
                var form = await http.Request.ReadMultipartAsync(ct);
                var file = form.Files.GetFile("file") ?? throw ApiException.BadRequest("the upload needs a field 'file'");
                int? labelIndex = int.TryParse(form["label_index"], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var li) ? li : null;
                var options = new DatasetReadOptions(
                    LabelColumn: NullIfEmpty(form["label_column"]), LabelIndex: labelIndex, LabelType: NullIfEmpty(form["label_type"]) ?? "float32",
                    FeaturesKey: NullIfEmpty(form["features_key"]), LabelsKey: NullIfEmpty(form["labels_key"]),
                    HasHeader: NullIfEmpty(form["header"]) is not ("false" or "0"));
                var info = await store.AddAsync(NullIfEmpty(form["name"]) ?? Path.GetFileNameWithoutExtension(file.FileName), NullIfEmpty(form["format"]),
                    file, form.Files.GetFile("labels"), options, ct);
                return Results.Created($"/v1/datasets/{info.Id}", info);
            })
            .WithName("UploadDataset").WithMetadata(new UploadEndpointAttribute()).DisableAntiforgery()
            .WithSummary("Upload a dataset").WithDescription("A multipart form: the features file (CSV, NPY, NPZ, IDX, gzipped IDX), optional labels "
                + "file and how to read them. The file is read once to check it. Limits: Neural:Limits:MaxUploadBytes as uploaded, Neural:MaxDecompressedBytes once decompressed and read (413).")
            .Accepts<IFormFile>("multipart/form-data").Produces<DatasetInfo>(201).ProducesProblem(409).ProducesProblem(413);

        g.MapDelete("/{id}", (string id, DatasetStore store, JobService jobs) =>
            {
                var info = store.Get(id);
                if (!info.Builtin && info.Id == id && UsersOf(info, store, jobs) is { Count: > 0 } users)
                    throw ApiException.Conflict($"dataset '{id}' is used by {string.Join(", ", users.Select(j => $"{j.State.ToString().ToLowerInvariant()} job {j.Id}"))}; "
                        + "cancel them (POST /v1/jobs/{id}/cancel) or wait until they end, then delete it");
                store.Delete(id);
                return Results.NoContent();
            })
            .WithName("DeleteDataset").WithSummary("Delete a dataset")
            .WithDescription("{id} is the dataset's id. 409 for a built-in dataset and while a queued or running job uses it.")
            .Produces(204).ProducesProblem(404).ProducesProblem(409);
    }

    /// <summary>The queued and running jobs whose dataset reference resolves to this dataset now (a name resolves to
    /// its newest upload, as a run does).</summary>
    private static List<Job> UsersOf(DatasetInfo info, DatasetStore store, JobService jobs) =>
        jobs.Store.List(JobState.Queued).Concat(jobs.Store.List(JobState.Running))
            .Where(j => j.Request.Dataset == info.Id || (j.Request.Dataset == info.Name && Resolves(store, j.Request.Dataset) == info.Id))
            .ToList();

    private static string? Resolves(DatasetStore store, string reference)
    {
        try { return store.Get(reference).Id; }
        catch (ApiException) { return null; }
    }

    private static int SampleIndex(string index) =>
        int.TryParse(index, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
            ? i : throw ApiException.BadRequest($"sample index '{index}' must be a whole number from 0");

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues v) => string.IsNullOrWhiteSpace(v) ? null : v.ToString();
}
