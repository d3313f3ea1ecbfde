using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training;

/// <summary>How one model input's values are turned into what the network was trained on: y = x·scale + offset
/// (Keras's <c>Rescaling</c>). <see cref="Range"/> is the range of the raw values the data came in ([0, 255] for
/// 8-bit data), when the storage type says it.</summary>
public sealed record InputScaling(float Scale = 1f, float Offset = 0f, IReadOnlyList<double>? Range = null)
{
    public bool IsIdentity => Scale == 1f && Offset == 0f;

    /// <summary>y = x·scale + offset in float32, the same arithmetic as the folded graph's Mul and Add.</summary>
    public void ApplyInPlace(Span<float> values)
    {
        if (IsIdentity) return;
        for (var i = 0; i < values.Length; i++) values[i] = values[i] * Scale + Offset;
    }
}

/// <summary>What one model output means: a classifier's class scores (probabilities, one per class; one sigmoid unit
/// is P(class 1)) and, where the training data named them, the class names (index = class).</summary>
public sealed record OutputLabels(bool Classifier, IReadOnlyList<string>? ClassNames = null);

/// <summary>The one preprocessing contract of a trained model, shared by <see cref="Trainer"/>, <c>neural train</c> and
/// REST training jobs: a scale/offset per input and the meaning (classifier, class names) of each output.
/// <para>Rule (see docs/TRAINING.md, "Preprocessing"): a float input whose data is stored as 8-bit unsigned integers
/// (IDX files, image folders, Fashion-MNIST, uint8 NPY/NPZ arrays) is scaled by 1/255 — what Keras users write as
/// <c>x / 255.0</c>; any other input keeps scale 1. An explicit rescale (<see cref="FitOptions.Rescale"/>, CLI
/// <c>--rescale</c>, job <c>rescale</c>) replaces that scale for every float input. Integer inputs (token ids) are never
/// scaled.</para>
/// <para>The trainer applies it to the data it feeds the training graph; the exported inference model carries it
/// folded into the graph as a leading Mul (and Add) on each scaled input, so any ONNX consumer feeds raw values
/// (0–255 for 8-bit data), and records it in metadata_props (<see cref="MetadataKey"/>).</para></summary>
public sealed record PreprocessingContract(IReadOnlyDictionary<string, InputScaling> Inputs, IReadOnlyDictionary<string, OutputLabels> Outputs)
{
    /// <summary>metadata_props key of the whole contract as JSON.</summary>
    public const string MetadataKey = "neuralservice.preprocessing";
    /// <summary>metadata_props key of the scale when every scaled input shares one (readers of older files look here).</summary>
    public const string ScaleKey = "neuralservice.preprocessing.scale";
    /// <summary>metadata_props key of the raw input value range, e.g. <c>[0,255]</c>, when every input shares one.</summary>
    public const string InputRangeKey = "neuralservice.input_range";
    /// <summary>metadata_props key of a one-output classifier's class names (a JSON array).</summary>
    public const string ClassNamesKey = "neuralservice.class_names";

    /// <summary>The scale of 8-bit data.</summary>
    public const float ByteScale = 1f / 255f;

    /// <summary>True when the inference graph applies the input scaling itself (its inputs take raw values); false for a
    /// model written before the scale was folded, whose callers must scale (<see cref="FromMetadata"/> of such files).</summary>
    public bool Folded { get; init; } = true;

    /// <summary>The scaling of <paramref name="input"/> (identity when the contract does not name it).</summary>
    public InputScaling For(string input) => Inputs.TryGetValue(input, out var s) ? s : new InputScaling();

    /// <summary>The contract for training <paramref name="model"/> on <paramref name="inputs"/> (matched to the model's
    /// inputs by name or order): 1/255 for float inputs stored as uint8, <paramref name="rescale"/> for every float input
    /// when given; outputs trained with a cross-entropy on probabilities are classifiers, a one-output model's with
    /// <paramref name="classNames"/>.</summary>
    public static PreprocessingContract Resolve(Model model, IReadOnlyList<LossSpec> losses, DataArrays inputs, IReadOnlyList<string>? classNames, double? rescale)
    {
        if (rescale is { } r && !(double.IsFinite(r) && r != 0))
            throw new ArgumentException($"rescale must be a finite non-zero number, got {r.ToString(CultureInfo.InvariantCulture)}");
        var names = model.InputNames;
        var xs = inputs.Match(names, "input");
        var scales = new Dictionary<string, InputScaling>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            if (model.Inputs[i].DType != DataType.Float) continue;
            var bytes = xs[i].DType == DType.UInt8;
            var scale = rescale is { } s ? (float)s : bytes ? ByteScale : 1f;
            scales[names[i]] = new InputScaling(scale, 0f, bytes ? [0, 255] : null);
        }
        var outputs = new Dictionary<string, OutputLabels>(StringComparer.Ordinal);
        var outNames = model.OutputNames;
        for (var o = 0; o < outNames.Count; o++)
        {
            var classifier = o < losses.Count && IsProbabilityClassifier(losses[o]);
            outputs[outNames[o]] = new OutputLabels(classifier, classifier && outNames.Count == 1 && classNames is { Count: > 0 } ? classNames.ToList() : null);
        }
        return new PreprocessingContract(scales, outputs);
    }

    private static bool IsProbabilityClassifier(LossSpec loss) => !loss.FromLogits && loss.Name.Contains("crossentropy", StringComparison.Ordinal);

    /// <summary>A copy of <paramref name="x"/> as float32 with <paramref name="input"/>'s scaling applied (what the
    /// training graph and an unfolded inference graph are fed).</summary>
    public float[] Apply(string input, DataArray x)
    {
        var values = x.ToFloat32();
        For(input).ApplyInPlace(values);
        return values;
    }

    /// <summary>The inference model with the scaling folded in: for each input whose scaling is not the identity, a
    /// leading <c>Mul</c> by the scale (and <c>Add</c> of the offset) between the graph input, which keeps its name, and
    /// every node that read it; plus the contract in metadata_props. <paramref name="model"/> is not changed.</summary>
    public global::Onnx.ModelProto Fold(global::Onnx.ModelProto model)
    {
        var result = model.Clone();
        var graph = result.Graph;
        var prologue = new List<global::Onnx.NodeProto>();
        foreach (var input in graph.Input)
        {
            if (!Inputs.TryGetValue(input.Name, out var s) || s.IsIdentity) continue;
            if (input.Type?.TensorType is not { } t || t.ElemType != (int)DataType.Float)
                throw new ArgumentException($"input '{input.Name}' is not float32; only float inputs can be rescaled");
            var taken = AllNames(graph);
            string Fresh(string suffix)
            {
                var name = $"{input.Name}/preprocessing/{suffix}";
                for (var k = 1; taken.Contains(name); k++) name = $"{input.Name}/preprocessing/{suffix}_{k}";
                taken.Add(name);
                return name;
            }
            var scaled = Fresh("scaled");
            Rename(graph, input.Name, scaled);
            var scaleConst = Fresh("scale");
            graph.Initializer.Add(Tensors.Scalar(scaleConst, s.Scale));
            if (s.Offset == 0f)
                prologue.Add(Node("Mul", [input.Name, scaleConst], scaled, Fresh("Mul")));
            else
            {
                var product = Fresh("product");
                var offsetConst = Fresh("offset");
                graph.Initializer.Add(Tensors.Scalar(offsetConst, s.Offset));
                prologue.Add(Node("Mul", [input.Name, scaleConst], product, Fresh("Mul")));
                prologue.Add(Node("Add", [product, offsetConst], scaled, Fresh("Add")));
            }
        }
        for (var i = prologue.Count - 1; i >= 0; i--) graph.Node.Insert(0, prologue[i]);
        var meta = ToMetadata();
        foreach (var entry in result.MetadataProps.Where(p => meta.ContainsKey(p.Key)).ToList()) result.MetadataProps.Remove(entry);
        foreach (var (k, v) in meta) result.MetadataProps.Add(new global::Onnx.StringStringEntryProto { Key = k, Value = v });
        return result;
    }

    private static global::Onnx.NodeProto Node(string op, string[] inputs, string output, string name)
    {
        var node = new global::Onnx.NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    /// <summary>Points every reader of <paramref name="from"/> at <paramref name="to"/>, in subgraphs too (a Scan body
    /// may read an outer value).</summary>
    private static void Rename(global::Onnx.GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++) if (node.Input[i] == from) node.Input[i] = to;
            foreach (var a in node.Attribute)
            {
                if (a.G is { } g) Rename(g, from, to);
                foreach (var sub in a.Graphs) Rename(sub, from, to);
            }
        }
    }

    private static HashSet<string> AllNames(global::Onnx.GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Walk(global::Onnx.GraphProto g)
        {
            foreach (var i in g.Input) names.Add(i.Name);
            foreach (var i in g.Initializer) names.Add(i.Name);
            foreach (var n in g.Node)
            {
                names.Add(n.Name);
                foreach (var o in n.Output) names.Add(o);
                foreach (var a in n.Attribute)
                {
                    if (a.G is { } sub) Walk(sub);
                    foreach (var s in a.Graphs) Walk(s);
                }
            }
        }
        Walk(graph);
        return names;
    }

    // ---------------------------------------------------------------- metadata

    /// <summary>The metadata_props that record the contract: <see cref="MetadataKey"/> (JSON: <c>inputs</c> by name with
    /// <c>scale</c>, <c>offset</c>, <c>range</c>; <c>folded</c>; <c>outputs</c> by name with <c>classifier</c>,
    /// <c>class_names</c>), and the flat <see cref="ScaleKey"/>, <see cref="InputRangeKey"/>, <see cref="ClassNamesKey"/>
    /// where one value serves every input or the one output.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata()
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { [MetadataKey] = ToJson().ToJsonString() };
        var scales = Inputs.Values.Select(s => s.Scale).Distinct().ToList();
        if (scales.Count <= 1) meta[ScaleKey] = Number(scales.Count == 1 ? scales[0] : 1f);
        var ranges = Inputs.Values.Select(s => s.Range is { } r ? $"[{Number(r[0])},{Number(r[1])}]" : null).Distinct().ToList();
        if (ranges is [{ } range]) meta[InputRangeKey] = range;
        if (Outputs.Count == 1 && Outputs.Values.Single().ClassNames is { } names) meta[ClassNamesKey] = JsonSerializer.Serialize(names);
        return meta;
    }

    public JsonObject ToJson()
    {
        var inputs = new JsonObject();
        foreach (var (name, s) in Inputs)
            inputs[name] = new JsonObject
            {
                ["scale"] = s.Scale,
                ["offset"] = s.Offset,
                ["range"] = s.Range is { } r ? new JsonArray(r[0], r[1]) : null,
            };
        var outputs = new JsonObject();
        foreach (var (name, o) in Outputs)
            outputs[name] = new JsonObject
            {
                ["classifier"] = o.Classifier,
                ["class_names"] = o.ClassNames is { } c ? new JsonArray(c.Select(n => (JsonNode?)n).ToArray()) : null,
            };
        return new JsonObject { ["inputs"] = inputs, ["folded"] = Folded, ["outputs"] = outputs };
    }

    /// <summary>The contract recorded in an ONNX file's metadata_props, or null when it records none. Files written before
    /// the contract existed (<c>neural train</c> recorded <see cref="ScaleKey"/> and <see cref="ClassNamesKey"/> but did not
    /// fold the scale) give a contract with <see cref="Folded"/> false that scales every input named in
    /// <paramref name="inputNames"/>.</summary>
    public static PreprocessingContract? FromMetadata(IReadOnlyDictionary<string, string> meta, IReadOnlyList<string>? inputNames = null, IReadOnlyList<string>? outputNames = null)
    {
        if (meta.TryGetValue(MetadataKey, out var json) && json.TrimStart().StartsWith('{'))
        {
            try { return FromJson(JsonNode.Parse(json)!.AsObject()); }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new InvalidDataException($"metadata '{MetadataKey}' is not a preprocessing contract: {e.Message}");
            }
        }
        if (!meta.TryGetValue(ScaleKey, out var text)) return null;
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || !float.IsFinite(scale))
            throw new InvalidDataException($"metadata '{ScaleKey}' is '{text}', not a number");
        var classes = meta.TryGetValue(ClassNamesKey, out var c) ? JsonSerializer.Deserialize<string[]>(c) : null;
        var outputs = (outputNames ?? []).ToDictionary(o => o, o => new OutputLabels(false, outputNames!.Count == 1 ? classes : null), StringComparer.Ordinal);
        return new PreprocessingContract((inputNames ?? []).ToDictionary(i => i, _ => new InputScaling(scale), StringComparer.Ordinal), outputs) { Folded = false };
    }

    /// <summary>The contract of an ONNX model (its metadata_props; input and output names for older files).</summary>
    public static PreprocessingContract? FromOnnx(global::Onnx.ModelProto model)
    {
        var initializers = model.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return FromMetadata(model.MetadataProps.ToDictionary(p => p.Key, p => p.Value),
            model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name).ToList(),
            model.Graph.Output.Select(o => o.Name).ToList());
    }

    public static PreprocessingContract FromJson(JsonObject json)
    {
        var inputs = new Dictionary<string, InputScaling>(StringComparer.Ordinal);
        if (json["inputs"] is JsonObject ins)
            foreach (var (name, node) in ins)
            {
                var o = node!.AsObject();
                var range = o["range"] is JsonArray r ? new[] { r[0]!.GetValue<double>(), r[1]!.GetValue<double>() } : null;
                inputs[name] = new InputScaling(o["scale"]?.GetValue<float>() ?? 1f, o["offset"]?.GetValue<float>() ?? 0f, range);
            }
        var outputs = new Dictionary<string, OutputLabels>(StringComparer.Ordinal);
        if (json["outputs"] is JsonObject outs)
            foreach (var (name, node) in outs)
            {
                var o = node!.AsObject();
                var names = o["class_names"] is JsonArray a ? a.Select(n => n!.GetValue<string>()).ToList() : null;
                outputs[name] = new OutputLabels(o["classifier"]?.GetValue<bool>() ?? false, names);
            }
        return new PreprocessingContract(inputs, outputs) { Folded = json["folded"]?.GetValue<bool>() ?? true };
    }

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    private static string Number(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
