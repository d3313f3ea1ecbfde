using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using NeuralService.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Kserve;

/// <summary>The classifier outputs of a served model, from the preprocessing contract in its metadata_props
/// (<see cref="PreprocessingContract"/>: written by every training entry point), and the <c>top_k</c> a
/// <c>:predict</c> caller asked for. A [batch, C] output of class probabilities answers its C best classes; one sigmoid
/// unit ([batch, 1]) is P(class 1) and answers classes 1 and 0.</summary>
public sealed class PredictClasses
{
    /// <summary>Without <c>?top_k=</c>: the predicted class only.</summary>
    public const int DefaultTopK = 1;

    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>?> _outputs;
    private readonly int _topK;

    private PredictClasses(IReadOnlyDictionary<string, IReadOnlyList<string>?> outputs, int topK)
    {
        _outputs = outputs;
        _topK = topK;
    }

    /// <summary>The classifier outputs of <paramref name="version"/> with the top_k query value checked against them;
    /// null for a model with none (then <paramref name="topK"/> must be absent).</summary>
    public static PredictClasses? For(ModelVersion version, string? topK)
    {
        var inputs = version.Signature.Inputs.Select(i => i.Name).ToList();
        var outputs = version.Signature.Outputs;
        PreprocessingContract? contract;
        try { contract = PreprocessingContract.FromMetadata(version.Metadata, inputs, outputs.Select(o => o.Name).ToList()); }
        catch (InvalidDataException) { contract = null; }
        var classifiers = new Dictionary<string, IReadOnlyList<string>?>(StringComparer.Ordinal);
        foreach (var o in outputs)
            if (contract?.Outputs.GetValueOrDefault(o.Name) is { } labels && (labels.Classifier || labels.ClassNames is not null)
                && NeuralService.Graph.Onnx.DataTypes.FromName(o.ElementType) == DataType.Float && o.Shape is { Count: 2 })
                classifiers[o.Name] = labels.ClassNames;
        int k = DefaultTopK;
        if (topK is not null)
        {
            if (!int.TryParse(topK, NumberStyles.None, CultureInfo.InvariantCulture, out k) || k < 1)
                throw ApiException.BadRequest($"top_k '{topK}' must be a whole number of at least 1");
            if (classifiers.Count == 0)
                throw ApiException.BadRequest($"top_k needs a classifier: model '{version.Model}' version {version.Version} records no classifier output " +
                    "(its metadata_props have no neuralservice.preprocessing outputs; models trained here have them)");
            foreach (var o in outputs.Where(o => classifiers.ContainsKey(o.Name)))
                if (o.Shape![1].Size is { } c && k > Math.Max(2, c))
                    throw ApiException.BadRequest($"top_k {k} is more than the {Math.Max(2, c)} classes of output '{o.Name}'; ask for at most {Math.Max(2, c)}");
        }
        return classifiers.Count == 0 ? null : new PredictClasses(classifiers, k);
    }

    public void Write(Utf8JsonWriter w, IReadOnlyList<NamedTensor> outputs)
    {
        var served = outputs.Where(o => _outputs.ContainsKey(o.Name) && o.ElementType == DataType.Float && o.Dims.Length == 2).ToList();
        if (served.Count == 0) return;
        var several = outputs.Count > 1;
        var rows = served[0].Dims[0];
        w.WriteStartArray("top_k");
        for (var r = 0L; r < rows; r++)
        {
            if (several) w.WriteStartObject();
            foreach (var o in served)
            {
                if (several) w.WritePropertyName(o.Name);
                WriteRow(w, o, r, _outputs[o.Name]);
            }
            if (several) w.WriteEndObject();
        }
        w.WriteEndArray();
        var named = served.Where(o => _outputs[o.Name] is not null).ToList();
        if (named.Count == 0) return;
        w.WritePropertyName("class_names");
        if (several) w.WriteStartObject();
        foreach (var o in named)
        {
            if (several) w.WritePropertyName(o.Name);
            JsonSerializer.Serialize(w, _outputs[o.Name]);
        }
        if (several) w.WriteEndObject();
    }

    private void WriteRow(Utf8JsonWriter w, NamedTensor o, long row, IReadOnlyList<string>? names)
    {
        var width = (int)o.Dims[1];
        var values = MemoryMarshal.Cast<byte, float>(o.Data!).Slice((int)(row * width), width).ToArray();
        // One sigmoid unit is P(class 1): the two classes are 1 (p) and 0 (1 − p).
        var scores = width == 1 ? new[] { (Class: 1, P: values[0]), (Class: 0, P: 1 - values[0]) }
            : Enumerable.Range(0, width).Select(c => (Class: c, P: values[c])).ToArray();
        w.WriteStartArray();
        foreach (var (c, p) in scores.OrderByDescending(s => s.P).ThenBy(s => s.Class).Take(_topK))
        {
            w.WriteStartObject();
            w.WriteNumber("class", c);
            if (names is not null && c < names.Count) w.WriteString("name", names[c]);
            else w.WriteNull("name");
            w.WriteNumber("probability", p);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
