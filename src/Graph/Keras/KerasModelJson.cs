using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;

namespace NeuralService.Graph.Keras;

/// <summary>Reads Keras model configs (<c>model.to_json()</c>, Keras 3 and Keras 2) and writes ours in the Keras 3 form.
/// Every error names the JSON path of the offending element.</summary>
public static class KerasModelJson
{
    private static readonly HashSet<string> ModelClasses = ["Sequential", "Functional", "Model"];

    /// <summary>Tensor-valued keyword arguments of a call are passed as extra inputs; the argument records their position.</summary>
    public sealed record TensorArgument(int InputIndex);

    public static Model Read(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new GraphException($"malformed JSON: {e.Message}");
        }
        if (root is not JsonObject obj) throw new GraphException("$: a Keras model config must be a JSON object");
        try
        {
            return ReadModel(obj, "$");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException && e.Source?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true)
        {
            // A value of the wrong JSON kind (a number where a name belongs, an object for a dim) or an escaped lone
            // surrogate: System.Text.Json throws these when the reader takes the value, and they are the config's fault.
            // (Its reader errors carry the Source "System.Text.Json.Rethrowable".)
            throw new GraphException($"$: a value has the wrong JSON type or form: {e.Message}");
        }
    }

    public static Model ReadFile(string path) => Read(File.ReadAllText(path));

    private static Model ReadModel(JsonObject obj, string path)
    {
        var cls = Str(obj, "class_name", path);
        var config = obj["config"] ?? throw new GraphException($"{path}: missing 'config'");
        return cls switch
        {
            "Sequential" => ReadSequential(config, path + ".config"),
            "Functional" or "Model" => ReadFunctional(Obj(config, path + ".config"), path + ".config"),
            _ => throw new GraphException($"{path}.class_name: '{cls}' is not a model class (Sequential, Functional, Model)"),
        };
    }

    private static Sequential ReadSequential(JsonNode config, string path)
    {
        JsonArray layers;
        string? name = null;
        JsonNode? buildShape = null;
        if (config is JsonArray list) layers = list;
        else
        {
            var o = Obj(config, path);
            layers = o["layers"] as JsonArray ?? throw new GraphException($"{path}.layers: missing layer list");
            name = o["name"]?.GetValue<string>();
            buildShape = o["build_input_shape"];
            path += ".layers";
        }
        var model = new Sequential(new ModelConfig { Name = name });
        for (var i = 0; i < layers.Count; i++)
        {
            var lp = $"{path}[{i}]";
            var layer = ReadLayer(Obj(layers[i], lp), lp);
            try
            {
                model.Add(layer);
            }
            catch (GraphException e)
            {
                throw new GraphException($"{lp} ({layer.ClassName} '{layer.Name}'): {e.Message}");
            }
        }
        if (!model.HasInput)
        {
            var shape = buildShape is JsonArray a ? ShapeOf(a, path) : null;
            if (shape is null) throw new GraphException($"{path}: the Sequential model declares no input shape (no InputLayer, batch_input_shape or build_input_shape)");
            model.Build(shape);
        }
        return model;
    }

    private static Functional ReadFunctional(JsonObject config, string path)
    {
        var layers = config["layers"] as JsonArray ?? throw new GraphException($"{path}.layers: missing layer list");
        var byName = new Dictionary<string, Layer>(StringComparer.Ordinal);
        var pending = new List<(Layer Layer, JsonNode Node, int Index, string Path)>();
        for (var i = 0; i < layers.Count; i++)
        {
            var lp = $"{path}.layers[{i}]";
            var lo = Obj(layers[i], lp);
            var layer = ReadLayer(lo, lp);
            var layerName = lo["name"]?.GetValue<string>() ?? layer.Name;
            if (!byName.TryAdd(layerName, layer)) throw new GraphException($"{lp}: layer name '{layerName}' is used twice");
            if (layer is InputLayer) continue;
            if (lo["inbound_nodes"] is JsonArray nodes)
                for (var k = 0; k < nodes.Count; k++) pending.Add((layer, nodes[k]!, k, $"{lp}.inbound_nodes[{k}]"));
        }
        var outputsOf = new Dictionary<(string, int), IReadOnlyList<KerasTensor>>();
        foreach (var (n, l) in byName)
            if (l is InputLayer input) outputsOf[(n, 0)] = [input.Output];

        // Keras's own order: process every node whose inputs exist, until none is left.
        while (pending.Count > 0)
        {
            var progressed = false;
            foreach (var item in pending.ToList())
            {
                var call = Shifted(ParseNode(item.Node, item.Path), byName);
                if (!call.Inputs.All(r => outputsOf.ContainsKey((r.Layer, r.Node)))) continue;
                var inputs = call.Inputs.Select(r => Resolve(outputsOf, r, byName, item.Path)).ToList();
                IReadOnlyList<KerasTensor> outs;
                try
                {
                    outs = item.Layer.ApplyMulti(inputs, call.Arguments);
                }
                catch (GraphException e)
                {
                    throw new GraphException($"{item.Path}: {e.Message}");
                }
                outputsOf[(NameOf(byName, item.Layer), item.Index)] = outs;
                pending.Remove(item);
                progressed = true;
            }
            if (!progressed)
            {
                var stuck = pending[0];
                var missing = Shifted(ParseNode(stuck.Node, stuck.Path), byName).Inputs.First(r => !outputsOf.ContainsKey((r.Layer, r.Node)));
                throw new GraphException(byName.ContainsKey(missing.Layer)
                    ? $"{stuck.Path}: layer '{stuck.Layer.Name}' waits for '{missing.Layer}' node {missing.Node}, which never comes (cycle or missing node)"
                    : $"{stuck.Path}: unknown layer '{missing.Layer}'");
            }
        }
        var ins = Refs(config["input_layers"], path + ".input_layers").Select(r => Resolve(outputsOf, Shift(r, byName), byName, path + ".input_layers")).ToList();
        var outsModel = Refs(config["output_layers"], path + ".output_layers").Select(r => Resolve(outputsOf, Shift(r, byName), byName, path + ".output_layers")).ToList();
        try
        {
            return new Functional(ins, outsModel, new ModelConfig
            {
                Name = config["name"]?.GetValue<string>(),
                Trainable = config["trainable"]?.GetValue<bool>() ?? true,
            });
        }
        catch (GraphException e)
        {
            throw new GraphException($"{path}: {e.Message}");
        }
    }

    /// <summary>Keras counts a nested model's own construction as its node 0, but does not serialize it: references
    /// to such a model's calls are one higher than their position in its inbound_nodes list.</summary>
    private static TensorRef Shift(TensorRef r, Dictionary<string, Layer> byName) =>
        byName.TryGetValue(r.Layer, out var l) && l is Model m && HasBuiltInNode(m) && r.Node > 0 ? r with { Node = r.Node - 1 } : r;

    private static bool HasBuiltInNode(Model m) => m is Functional || (m is Sequential s && s.HasInput);

    private static NodeCall Shifted(NodeCall call, Dictionary<string, Layer> byName) =>
        call with { Inputs = call.Inputs.Select(r => Shift(r, byName)).ToList() };

    private static string NameOf(Dictionary<string, Layer> byName, Layer layer) => byName.First(kv => kv.Value == layer).Key;

    private static KerasTensor Resolve(Dictionary<(string, int), IReadOnlyList<KerasTensor>> outputsOf, TensorRef r,
        Dictionary<string, Layer> byName, string path)
    {
        if (!byName.ContainsKey(r.Layer)) throw new GraphException($"{path}: unknown layer '{r.Layer}'");
        if (!outputsOf.TryGetValue((r.Layer, r.Node), out var outs)) throw new GraphException($"{path}: layer '{r.Layer}' has no node {r.Node}");
        if (r.Tensor < 0 || r.Tensor >= outs.Count) throw new GraphException($"{path}: layer '{r.Layer}' node {r.Node} has no output {r.Tensor}");
        return outs[r.Tensor];
    }

    private sealed record TensorRef(string Layer, int Node, int Tensor);
    private sealed record NodeCall(List<TensorRef> Inputs, Dictionary<string, object?> Arguments);

    /// <summary>A node is Keras 3's <c>{"args": [...], "kwargs": {...}}</c> or Keras 2's <c>[[name, node, tensor, kwargs], ...]</c>.</summary>
    private static NodeCall ParseNode(JsonNode node, string path)
    {
        var inputs = new List<TensorRef>();
        var args = new Dictionary<string, object?>();
        if (node is JsonObject k3)
        {
            void Collect(JsonNode? n)
            {
                switch (n)
                {
                    case JsonObject o when o["class_name"]?.GetValue<string>() == "__keras_tensor__":
                        var h = o["config"]?["keras_history"] as JsonArray ?? throw new GraphException($"{path}: keras tensor without keras_history");
                        inputs.Add(new TensorRef(h[0]!.GetValue<string>(), h[1]!.GetValue<int>(), h[2]!.GetValue<int>()));
                        break;
                    case JsonArray a:
                        foreach (var x in a) Collect(x);
                        break;
                }
            }
            Collect(k3["args"]);
            if (k3["kwargs"] is JsonObject kw)
                foreach (var (key, value) in kw)
                {
                    var before = inputs.Count;
                    Collect(value);
                    args[key] = inputs.Count > before ? new TensorArgument(before) : Plain(value);
                }
        }
        else if (node is JsonArray k2)
        {
            foreach (var item in k2)
            {
                if (item is not JsonArray t || t.Count < 3) throw new GraphException($"{path}: expected [layer, node, tensor, kwargs]");
                inputs.Add(new TensorRef(t[0]!.GetValue<string>(), t[1]!.GetValue<int>(), t[2]!.GetValue<int>()));
                if (t.Count > 3 && t[3] is JsonObject kw)
                    foreach (var (key, value) in kw) args[key] = Plain(value);
            }
        }
        else throw new GraphException($"{path}: unrecognised node form");
        return new NodeCall(inputs, args);
    }

    private static object? Plain(JsonNode? value) => value switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => value.DeepClone(),
    };

    private static List<TensorRef> Refs(JsonNode? node, string path)
    {
        if (node is not JsonArray a || a.Count == 0) throw new GraphException($"{path}: missing");
        if (a[0] is JsonValue) return [new TensorRef(a[0]!.GetValue<string>(), a[1]!.GetValue<int>(), a[2]!.GetValue<int>())];
        return a.Select(x => x as JsonArray ?? throw new GraphException($"{path}: expected [layer, node, tensor]"))
            .Select(x => new TensorRef(x[0]!.GetValue<string>(), x[1]!.GetValue<int>(), x[2]!.GetValue<int>())).ToList();
    }

    /// <summary>Reads one layer entry (a nested model, or a registered layer class).</summary>
    public static Layer ReadLayer(JsonObject entry, string path)
    {
        var cls = Str(entry, "class_name", path);
        if (ModelClasses.Contains(cls)) return ReadModel(entry, path);
        var reg = LayerRegistry.Find(cls) ?? throw new GraphException($"{path}.class_name: unknown layer class '{cls}'");
        var config = (entry["config"] as JsonObject ?? throw new GraphException($"{path}.config: missing layer config")).DeepClone().AsObject();
        LayerConfig parsed;
        try
        {
            parsed = KerasJson.ReadConfig(config, reg.ConfigType);
        }
        catch (JsonException e)
        {
            throw new GraphException($"{path}.config ({cls}): {Explain(e)}");
        }
        try
        {
            return reg.Create(parsed);
        }
        catch (Exception e) when (e is ArgumentException or GraphException or NotSupportedException)
        {
            throw new GraphException($"{path} ({cls} '{parsed.Name}'): {e.Message}");
        }
    }

    private static string Explain(JsonException e)
    {
        var m = System.Text.RegularExpressions.Regex.Match(e.Message, "The JSON property '([^']+)' could not be mapped");
        var where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
        return m.Success ? $"unknown argument '{m.Groups[1].Value}'{where}" : $"invalid value{where}: {e.Message}";
    }

    private static int?[]? ShapeOf(JsonArray a, string path) =>
        a.Select(d => d is null ? (int?)null : d.GetValue<int>()).ToArray();

    private static string Str(JsonObject o, string key, string path) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new GraphException($"{path}.{key}: missing or not a string");

    private static JsonObject Obj(JsonNode? n, string path) => n as JsonObject ?? throw new GraphException($"{path}: expected an object");

    // ---------------------------------------------------------------- writing (Keras 3 form)

    public static string Write(Model model, bool indented = true) =>
        WriteModel(model, topLevel: true).ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

    private static readonly HashSet<string> ListInputClasses =
        ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "Attention", "AdditiveAttention"];

    private static JsonObject WriteModel(Model model, bool topLevel)
    {
        JsonObject config;
        if (model is Sequential seq)
        {
            var layers = new JsonArray();
            if (seq.HasInput) layers.Add(WriteLayer(seq.Layers[0], null));
            foreach (var l in seq.StackedLayers) layers.Add(WriteLayer(l, null));
            config = new JsonObject
            {
                ["name"] = model.Name,
                ["trainable"] = model.Trainable,
                ["layers"] = layers,
            };
            if (seq.HasInput) config["build_input_shape"] = Shape(seq.Inputs[0].Shape);
        }
        else
        {
            var f = (Functional)model;
            var nodeIndex = new Dictionary<LayerNode, int>(ReferenceEqualityComparer.Instance);
            var layers = new JsonArray();
            foreach (var layer in f.Layers)
            {
                var nodes = layer.InboundNodes.Where(n => f.Nodes.Contains(n)).ToList();
                if (layer is InputLayer) nodes = [layer.InboundNodes[0]];
                for (var k = 0; k < nodes.Count; k++) nodeIndex[nodes[k]] = k;
                var entry = WriteLayer(layer, null);
                entry["name"] = layer.Name;
                entry["inbound_nodes"] = new JsonArray(layer is InputLayer ? [] : nodes.Select(n => (JsonNode)WriteNode(n, nodeIndex)).ToArray());
                layers.Add(entry);
            }
            JsonArray Refs(IEnumerable<KerasTensor> ts) => new(ts.Select(t => (JsonNode)new JsonArray(t.Layer.Name, KerasNodeIndex(t, nodeIndex), t.Index)).ToArray());
            config = new JsonObject
            {
                ["name"] = model.Name,
                ["trainable"] = model.Trainable,
                ["layers"] = layers,
                ["input_layers"] = Refs(f.Inputs),
                ["output_layers"] = Refs(f.Outputs),
            };
        }
        var obj = new JsonObject
        {
            ["module"] = model is Sequential ? "keras" : "keras.src.models.functional",
            ["class_name"] = model.ClassName,
            ["config"] = config,
            ["registered_name"] = model is Sequential ? null : "Functional",
        };
        if (topLevel) obj["keras_version"] = "3.14.0";
        return obj;
    }

    private static JsonObject WriteNode(LayerNode node, Dictionary<LayerNode, int> nodeIndex)
    {
        JsonObject Tensor(KerasTensor t) => new()
        {
            ["class_name"] = "__keras_tensor__",
            ["config"] = new JsonObject
            {
                ["shape"] = Shape(t.Shape),
                ["dtype"] = Onnx.DataTypes.ToName(t.DType),
                ["keras_history"] = new JsonArray(t.Layer.Name, KerasNodeIndex(t, nodeIndex), t.Index),
            },
        };
        var tensorArgs = node.Arguments.Where(a => a.Value is TensorArgument).ToDictionary(a => ((TensorArgument)a.Value!).InputIndex, a => a.Key);
        var positional = node.Inputs.Where((_, i) => !tensorArgs.ContainsKey(i)).Select(Tensor).ToArray();
        var args = ListInputClasses.Contains(node.Layer.ClassName)
            ? new JsonArray(new JsonArray(positional.Select(t => (JsonNode)t).ToArray()))
            : new JsonArray(positional.Select(t => (JsonNode)t).ToArray());
        var kwargs = new JsonObject();
        foreach (var (key, value) in node.Arguments)
            kwargs[key] = value switch
            {
                TensorArgument ta => Tensor(node.Inputs[ta.InputIndex]),
                null => null,
                JsonNode j => j.DeepClone(),
                _ => JsonValue.Create(value),
            };
        return new JsonObject { ["args"] = args, ["kwargs"] = kwargs };
    }

    private static int KerasNodeIndex(KerasTensor t, Dictionary<LayerNode, int> nodeIndex) =>
        nodeIndex.GetValueOrDefault(t.Node) + (t.Layer is Model m && HasBuiltInNode(m) ? 1 : 0);

    private static JsonObject WriteLayer(Layer layer, object? _)
    {
        if (layer is Model m) return WriteModel(m, topLevel: false);
        var config = KerasJson.WriteConfig(layer is InputLayer input
            ? input.Config with { Name = layer.Name, BatchShape = input.Config.DeclaredInputShape, BatchInputShape = null, InputShape = null }
            : layer.Config with { Name = layer.Name });
        config.Remove("input_shape");
        config.Remove("batch_input_shape");
        if (layer is not InputLayer) config.Remove("batch_shape");
        var entry = new JsonObject
        {
            ["module"] = "keras.layers",
            ["class_name"] = layer.ClassName,
            ["config"] = config,
            ["registered_name"] = null,
        };
        if (layer.BuiltInputs is { Count: > 0 } ins && layer is not InputLayer)
            entry["build_config"] = new JsonObject
            {
                ["input_shape"] = ins.Count == 1 ? Shape(ins[0].Shape) : new JsonArray(ins.Select(i => (JsonNode)Shape(i.Shape)).ToArray()),
            };
        return entry;
    }

    private static JsonArray Shape(Shape s) => new(s.ToKeras().Select(d => d is { } v ? JsonValue.Create(v) : null).ToArray<JsonNode?>());
}
