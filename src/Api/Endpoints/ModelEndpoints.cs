using Microsoft.AspNetCore.Mvc;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Api.Registry;
using NeuralService.Inference;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Endpoints;

/// <summary>The model registry over HTTP: models, immutable versions (uploaded ONNX), aliases, deletion rules.
/// A <c>{version}</c> segment is a number, an alias or <c>latest</c>.</summary>
public static class ModelEndpoints
{
    public static void MapModelEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v1/models").WithTags("Registry").ProducesProblem(400).ProducesProblem(429).ProducesProblem(500);

        g.MapGet("", async (int? limit, [FromQuery(Name = "page_token")] string? pageToken, ModelRegistry r, CancellationToken ct) =>
            {
                var q = Paging.Read(limit, pageToken, "models");
                var (page, next) = Paging.Page(await r.ListModelsAsync(ct), m => m.Name, q, "models");
                // Read after the models: a listed model got its first version in the same transaction that created it.
                var latest = await r.LatestVersionsAsync(ct);
                return new ModelList(page.Select(m => new ModelDto(m.Name, m.Description, m.CreatedAt, m.Aliases,
                    latest.TryGetValue(m.Name, out var v) ? v : null)).ToList(), next);
            })
            .WithName("ListModels").WithSummary("List models")
            .WithDescription("Registered models by name, each with its aliases and latest version (no version details; see GetModel). " + Paging.Description);

        g.MapGet("/{name}", (string name, ModelRegistry r, CancellationToken ct) => Describe(r, name, ct))
            .WithName("GetModel").WithSummary("Get a model").WithDescription("The model, its aliases and all its versions.").ProducesProblem(404);

        g.MapGet("/{name}/versions", async (string name, int? limit, [FromQuery(Name = "page_token")] string? pageToken, ModelRegistry r, CancellationToken ct) =>
            {
                var q = Paging.Read(limit, pageToken, "versions:" + name);
                if (await r.Store.GetModelAsync(name, ct) is null) throw new ModelNotFoundException($"no model named '{name}'");
                var (page, next) = Paging.Page(await r.ListVersionsAsync(name, ct), v => Paging.NumberKey(v.Version), q, "versions:" + name);
                return new VersionList(page.Select(VersionDto.From).ToList(), next);
            })
            .WithName("ListVersions").WithSummary("List a model's versions")
            .WithDescription("The versions of {name}, oldest first. " + Paging.Description).ProducesProblem(404);

        g.MapGet("/{name}/versions/{version}", async (string name, string version, ModelRegistry r, CancellationToken ct) =>
                VersionDto.From(await r.ResolveAsync(name, version, ct)))
            .WithName("GetVersion").WithSummary("Get a model version")
            .WithDescription("One version: signature, checksum, metadata, training lineage, tags. {version} is a number, an alias or 'latest'.").ProducesProblem(404);

        g.MapGet("/{name}/versions/{version}/summary", async (string name, string version, ModelRegistry r, CancellationToken ct) =>
                ArchitectureSummary.For(r, await r.ResolveAsync(name, version, ct)))
            .WithName("GetVersionSummary").WithSummary("A version's architecture summary")
            .WithDescription("Keras's model.summary() for the version: layers with output shape and parameter count, totals, and the table as text. "
                + "From the Keras config a training job stores with the version (source 'keras_config'), else read off the ONNX graph "
                + "(source 'onnx': nodes grouped by name scope, parameters counted from floating-point initializers). {version} is a number, an alias or 'latest'.")
            .Produces<ArchitectureSummaryDto>().ProducesProblem(404);

        g.MapPost("/{name}/versions", async (string name, string? description, HttpContext http, ModelRegistry r, CancellationToken ct) =>
            {
                var v = await r.RegisterAsync(name, await ReadModelBytesAsync(http, ct), new RegisterOptions { Description = description }, ct);
                return Results.Created($"/v1/models/{v.Model}/versions/{v.Version}", VersionDto.From(v));
            })
            .WithName("UploadVersion").WithMetadata(new UploadEndpointAttribute()).DisableAntiforgery()
            .WithSummary("Upload a model version").WithDescription("Registers an ONNX model as the next version of {name} (created on first upload): "
                + "the raw file as application/octet-stream, or a multipart form with a field 'file'. The model is checked and loaded "
                + "once by ONNX Runtime before it is stored; versions are immutable. Limit: Neural:Limits:MaxUploadBytes.")
            .Accepts<byte[]>("application/octet-stream", "multipart/form-data")
            .Produces<VersionDto>(201).ProducesProblem(413);

        g.MapGet("/{name}/versions/{version}/onnx", async (string name, string version, ModelRegistry r, CancellationToken ct) =>
            {
                var v = await r.ResolveAsync(name, version, ct);
                return Results.File(r.FilePath(v), "application/octet-stream", $"{v.Model}-{v.Version}.onnx");
            })
            .WithName("DownloadVersion").WithSummary("Download a version's ONNX file").WithDescription("The stored model bytes, as uploaded.")
            .Produces<byte[]>(200, "application/octet-stream").ProducesProblem(404);

        g.MapPut("/{name}/aliases/{alias}", async (string name, string alias, AliasRequest body, ModelRegistry r, CancellationToken ct) =>
            {
                await r.SetAliasAsync(name, alias, body.Version, ct);
                return Results.Ok(new AliasDto(name, alias, body.Version));
            })
            .WithName("SetAlias").WithSummary("Point an alias at a version")
            .WithDescription("Creates or moves {alias} (not a number, not 'latest') to the given version; answers {model, alias, version}.").Produces<AliasDto>().ProducesProblem(404);

        g.MapGet("/{name}/aliases/{alias}", async (string name, string alias, ModelRegistry r, CancellationToken ct) =>
            {
                var m = await r.Store.GetModelAsync(name, ct) ?? throw new ModelNotFoundException($"no model named '{name}'");
                return m.Aliases.TryGetValue(alias, out var v) ? new AliasDto(name, alias, v) : throw new ModelNotFoundException($"model '{name}' has no alias '{alias}'");
            })
            .WithName("GetAlias").WithSummary("Get an alias").WithDescription("The version {alias} points at, as {model, alias, version}.").ProducesProblem(404);

        g.MapDelete("/{name}/aliases/{alias}", async (string name, string alias, ModelRegistry r, CancellationToken ct) =>
                await r.RemoveAliasAsync(name, alias, ct) ? Results.NoContent() : throw new ModelNotFoundException($"model '{name}' has no alias '{alias}'"))
            .WithName("RemoveAlias").WithSummary("Remove an alias").WithDescription("The versions stay.").Produces(204).ProducesProblem(404);

        g.MapDelete("/{name}/versions/{version}", async (string name, string version, ModelRegistry r, InferenceEngine engine, CancellationToken ct) =>
            {
                var v = await r.ResolveAsync(name, version, ct);
                await r.DeleteVersionAsync(name, v.Version, ct);
                engine.Unload(name, v.Version);
                return Results.NoContent();
            })
            .WithName("DeleteVersion").WithSummary("Delete a version").WithDescription("409 while an alias points at it.").Produces(204).ProducesProblem(404).ProducesProblem(409);

        g.MapDelete("/{name}", async (string name, bool? force, ModelRegistry r, InferenceEngine engine, CancellationToken ct) =>
            {
                await r.DeleteModelAsync(name, force ?? false, ct);
                engine.Unload(name);
                return Results.NoContent();
            })
            .WithName("DeleteModel").WithSummary("Delete a model and all its versions")
            .WithDescription("409 while it has aliases, unless force=true.").Produces(204).ProducesProblem(404).ProducesProblem(409);
    }

    private static async Task<ModelDto> Describe(ModelRegistry r, string name, CancellationToken ct)
    {
        var m = await r.Store.GetModelAsync(name, ct) ?? throw new ModelNotFoundException($"no model named '{name}'");
        var versions = await r.ListVersionsAsync(name, ct);
        return new ModelDto(m.Name, m.Description, m.CreatedAt, m.Aliases, versions.LastOrDefault()?.Version, versions.Select(VersionDto.From).ToList());
    }

    /// <summary>The ONNX bytes of an upload: the raw body, or the multipart field <c>file</c>.</summary>
    private static async Task<byte[]> ReadModelBytesAsync(HttpContext http, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType) return await BodySizeMiddleware.ReadBodyAsync(http, ct);
        var form = await http.Request.ReadMultipartAsync(ct);
        var file = form.Files.GetFile("file") ?? throw ApiException.BadRequest("the multipart upload needs a field named 'file' with the ONNX model");
        using var ms = new MemoryStream();
        await file.CopyToAsync(ms, ct);
        return ms.ToArray();
    }
}
