using System.Collections.Concurrent;
using NeuralService.Api.Jobs;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Registry;

/// <summary>One row of a version's architecture summary (see <see cref="SummaryRow"/>).</summary>
public sealed record SummaryRowDto(string Name, string Type, string OutputShape, long Params, IReadOnlyList<string>? ConnectedTo);

/// <summary>A version's architecture as Keras's <c>model.summary()</c> shows it: rows, parameter totals (and their float32
/// size) and the table as text. <c>source</c> says where it came from: <c>keras_config</c> (the Keras model config a
/// training job stores with the version) or <c>onnx</c> (read off the ONNX graph: node groups, initializer counts).</summary>
public sealed record ArchitectureSummaryDto(string Model, int Version, string Source, string Name, IReadOnlyList<SummaryRowDto> Layers,
    long TotalParams, long TrainableParams, long NonTrainableParams, string TotalSize, string Text);

public static class ArchitectureSummary
{
    // The checksum covers the ONNX file and so its metadata (the Keras config): a summary is kept by it.
    private static readonly ConcurrentDictionary<string, (string Source, SummaryTable Table)> Cache = new(StringComparer.Ordinal);
    private const int MaxCached = 256;

    public static ArchitectureSummaryDto For(ModelRegistry registry, ModelVersion v)
    {
        if (!Cache.TryGetValue(v.Sha256, out var entry))
        {
            entry = Compute(registry, v);
            if (Cache.Count >= MaxCached) Cache.Clear();
            Cache[v.Sha256] = entry;
        }
        var t = entry.Table;
        return new ArchitectureSummaryDto(v.Model, v.Version, entry.Source, t.Model,
            t.Rows.Select(r => new SummaryRowDto(r.Name, r.Type, r.OutputShape, r.Params, r.ConnectedTo)).ToList(),
            t.TotalParams, t.TrainableParams, t.NonTrainableParams, ModelSummary.Bytes(t.TotalParams), ModelSummary.Format(t));
    }

    private static (string, SummaryTable) Compute(ModelRegistry registry, ModelVersion v)
    {
        if (v.Metadata.TryGetValue(JobService.KerasConfigKey, out var json))
        {
            // A stored config this build cannot read (written by another version of the service) still has its ONNX graph.
            try { return ("keras_config", ModelSummary.Table(KerasModelJson.Read(json))); }
            catch (NeuralService.Graph.Core.GraphException) { }
        }
        return ("onnx", OnnxSummary.Table(OnnxModels.Load(registry.FilePath(v))));
    }
}
