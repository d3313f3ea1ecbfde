using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Graph.Onnx;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Kserve;

/// <summary>The TensorFlow-Serving style body <c>{"instances": [...]}</c> → <c>{"predictions": [...]}</c>: one
/// instance per row (a nested array for a one-input model, an object by input name otherwise), stacked along a new
/// leading batch dim in the element types the signature declares.</summary>
public static class PredictCodec
{
    /// <summary>The members a request body may have; any other is refused by name.</summary>
    private static readonly string[] RequestFields = ["instances"];

    public static IReadOnlyList<NamedTensor> Parse(byte[] body, Signature signature)
    {
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.ValueKind == JsonValueKind.Object) StrictJson.CheckFields(doc.RootElement, "", RequestFields);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("instances", out var instances)
            || instances.ValueKind != JsonValueKind.Array || instances.GetArrayLength() == 0)
            throw ApiException.BadRequest("the request needs a non-empty 'instances' array");
        var single = signature.Inputs.Count == 1;
        var inputNames = signature.Inputs.Select(i => i.Name).ToArray();
        var at = 0;
        foreach (var inst in instances.EnumerateArray())
        {
            // An instance given by input name may name only the model's inputs.
            if (inst.ValueKind == JsonValueKind.Object) StrictJson.CheckFields(inst, $"instances[{at}]", inputNames, "the model's inputs are");
            at++;
        }
        var tensors = new List<NamedTensor>();
        foreach (var spec in signature.Inputs)
        {
            var what = $"input '{spec.Name}'";
            var rows = instances.EnumerateArray().Select(inst =>
            {
                if (single && inst.ValueKind != JsonValueKind.Object) return inst;
                return inst.ValueKind == JsonValueKind.Object && inst.TryGetProperty(spec.Name, out var v) ? v
                    : throw ApiException.BadRequest($"every instance must be an object with {what}");
            }).ToList();
            var leaves = new List<JsonElement>();
            List<long>? rowShape = null;
            foreach (var row in rows)
            {
                var (l, s) = TensorJson.Flatten(row, what);
                if (rowShape is null) rowShape = s;
                else if (!rowShape.SequenceEqual(s)) throw ApiException.BadRequest($"{what}: instances have different shapes [{string.Join(",", rowShape)}] and [{string.Join(",", s)}]");
                leaves.AddRange(l);
            }
            var dtype = DataTypes.FromName(spec.ElementType);
            long[] dims = [rows.Count, .. rowShape!];
            if (leaves.Count > InferCodec.MaxElements) throw ApiException.TooLarge($"{what}: more than {InferCodec.MaxElements} values");
            tensors.Add(dtype == Onnx.TensorProto.Types.DataType.String
                ? new NamedTensor(spec.Name, dtype, dims, strings: leaves.Select(l => l.GetString() ?? "").ToArray())
                : new NamedTensor(spec.Name, dtype, dims, TensorJson.ToBytes(leaves, dtype, what)));
        }
        return tensors;
    }

    public static byte[] Write(IReadOnlyList<NamedTensor> outputs) => Write(outputs, null);

    /// <summary>The predictions, and for the classifier outputs in <paramref name="classes"/> (see <see cref="PredictClasses"/>)
    /// each row's <c>top_k</c> classes (<c>class</c>, <c>name</c>, <c>probability</c>; best first) and the
    /// <c>class_names</c>; with several outputs both are objects by output name.</summary>
    public static byte[] Write(IReadOnlyList<NamedTensor> outputs, PredictClasses? classes)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartArray("predictions");
            var rows = outputs.Count == 0 || outputs[0].Dims.Length == 0 ? 1 : outputs[0].Dims[0];
            for (var r = 0L; r < rows; r++)
            {
                if (outputs.Count > 1) w.WriteStartObject();
                foreach (var o in outputs)
                {
                    if (outputs.Count > 1) w.WritePropertyName(o.Name);
                    if (o.Strings is not null) { w.WriteStringValue(o.Strings[r]); continue; }
                    var rowDims = o.Dims.Length == 0 ? [] : o.Dims[1..];
                    var per = rowDims.Aggregate(1L, (p, d) => p * d);
                    TensorJson.WriteNested(w, o.Data!, o.ElementType, rowDims, r * per);
                }
                if (outputs.Count > 1) w.WriteEndObject();
            }
            w.WriteEndArray();
            classes?.Write(w, outputs);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }
}
