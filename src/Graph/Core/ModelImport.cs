using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Core;

/// <summary>Loads an ONNX model's main graph into a <see cref="GraphBuilder"/>: initializers, inputs, nodes (typed by the
/// ops' own inference) and outputs. Nodes of older opsets are rewritten to their opset-17 form (attributes that became
/// inputs, removed attributes, legacy broadcasting, 2-D-coerced softmax); Constant nodes become initializers.</summary>
public static class ModelImport
{
    extension(GraphBuilder)
    {
        /// <summary>A builder holding <paramref name="model"/>'s graph, upgraded to opset 17.</summary>
        public static GraphBuilder FromModel(ModelProto model) => Import(model);
    }

    public static GraphBuilder Import(ModelProto model)
    {
        var opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();
        if (opset > OnnxModels.Opset) throw new GraphException($"model opset {opset} is newer than the supported {OnnxModels.Opset}");
        var graph = model.Graph ?? throw new GraphException("model has no graph");
        var g = new GraphBuilder();
        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            g.AddInitializer(t.Clone());
            initializerNames.Add(t.Name);
        }
        foreach (var input in graph.Input)
        {
            if (initializerNames.Contains(input.Name)) continue;
            var type = OnnxModels.TypeOf(input) ?? throw new GraphException($"graph input '{input.Name}' is not a tensor");
            g.AddInput(input.Name, type.DType, type.Shape);
        }
        foreach (var original in graph.Node)
        {
            if (original.Domain is not ("" or "ai.onnx"))
                throw new GraphException($"{original.Describe()}: domain '{original.Domain}' is not supported");
            var node = original.Clone();
            node.Domain = "";
            if (node.OpType == "Constant")
            {
                g.AddInitializer(ConstantTensor(node));
                continue;
            }
            foreach (var upgraded in Upgrade(g, node, opset)) g.Append(upgraded);
        }
        foreach (var output in graph.Output) g.AddOutput(g[output.Name]);
        return g;
    }

    private static TensorProto ConstantTensor(NodeProto node)
    {
        var name = node.Output[0];
        TensorProto t;
        if (node.GetTensor("value") is { } v) t = v.Clone();
        else if (node.Find("value_float") is { } f) t = Tensors.Create(name, [f.F]);
        else if (node.Find("value_floats") is { } fs) t = Tensors.Create(name, fs.Floats.ToArray(), fs.Floats.Count);
        else if (node.Find("value_int") is { } i) t = Tensors.Create(name, [i.I]);
        else if (node.Find("value_ints") is { } iv) t = Tensors.Create(name, iv.Ints.ToArray(), iv.Ints.Count);
        else throw new GraphException($"{node.Describe()}: this form of Constant is not supported");
        t.Name = name;
        return t;
    }

    private static readonly HashSet<string> LegacyBroadcast = ["Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less", "PRelu"];

    /// <summary>The opset-17 form of <paramref name="node"/> (possibly several nodes; the last keeps its outputs).</summary>
    private static IEnumerable<NodeProto> Upgrade(GraphBuilder g, NodeProto node, long opset)
    {
        if (opset >= 17) return [node];
        Remove(node, "consumed_inputs");
        var extra = new List<NodeProto>();
        switch (node.OpType)
        {
            case var op when LegacyBroadcast.Contains(op) && opset < 7:
                var axisAttr = node.Find("axis");
                Remove(node, "broadcast", "axis");
                if (node.Input.Count == 2 && g.Contains(node.Input[0]) && g.Contains(node.Input[1]))
                {
                    var ra = g[node.Input[0]].Rank;
                    var rb = g[node.Input[1]].Rank;
                    var axis = axisAttr?.I ?? ra - rb;
                    if (op == "PRelu" && axisAttr is null && rb == 1 && ra > 2) axis = 1; // per-channel slope
                    if (axis < 0) axis += ra;
                    var trailing = ra - axis - rb;
                    if (rb < ra && trailing > 0)
                        node.Input[1] = Unsqueeze(g, extra, node, node.Input[1], Enumerable.Range(rb, (int)trailing).Select(a => (long)a).ToArray());
                }
                break;
            case "Gemm" when opset < 7:
                Remove(node, "broadcast");
                break;
            case "BatchNormalization":
                if (node.Find("spatial") is { I: 0 }) throw new GraphException($"{node.Describe()}: spatial=0 is not supported");
                Remove(node, "spatial", "is_test");
                break;
            case "Dropout":
                Remove(node, "is_test");
                if (opset < 12 && node.Find("ratio") is { } ratio)
                {
                    Remove(node, "ratio");
                    node.Input.Add(AddConstant(g, node, "ratio", Tensors.Create("ratio", [ratio.F])));
                }
                break;
            case "Reshape" when opset < 5:
                MoveToInput(g, node, "shape", 1);
                break;
            case "Squeeze" or "Unsqueeze" or "ReduceSum" when opset < 13:
                MoveToInput(g, node, "axes", 1);
                break;
            case "Split" when opset < 13:
                MoveToInput(g, node, "split", 1);
                break;
            case "Slice" when opset < 10:
                var starts = node.GetInts("starts")!;
                var ends = node.GetInts("ends")!;
                var axes = node.GetInts("axes");
                Remove(node, "starts", "ends", "axes");
                node.Input.Add(AddConstant(g, node, "starts", Tensors.Create("starts", starts, starts.Length)));
                node.Input.Add(AddConstant(g, node, "ends", Tensors.Create("ends", ends, ends.Length)));
                if (axes is not null) node.Input.Add(AddConstant(g, node, "axes", Tensors.Create("axes", axes, axes.Length)));
                break;
            case "Pad" when opset < 11:
                var pads = node.GetInts("pads") ?? node.GetInts("paddings") ?? throw new GraphException($"{node.Describe()}: pads missing");
                var value = node.GetFloat("value", 0f);
                Remove(node, "pads", "paddings", "value");
                node.Input.Add(AddConstant(g, node, "pads", Tensors.Create("pads", pads, pads.Length)));
                if (value != 0) node.Input.Add(AddConstant(g, node, "value", ScalarLike(g[node.Input[0]].DType, value)));
                break;
            case "Clip" when opset < 11:
                var dtype = g[node.Input[0]].DType;
                var min = node.Find("min");
                var max = node.Find("max");
                Remove(node, "min", "max");
                node.Input.Add(min is null ? "" : AddConstant(g, node, "min", ScalarLike(dtype, min.F)));
                if (max is not null) node.Input.Add(AddConstant(g, node, "max", ScalarLike(dtype, max.F)));
                break;
            case "Concat" when opset < 4 && !node.Has("axis"):
                node.Attribute.Add(Attr.Int("axis", 1));
                break;
            case "Softmax" or "LogSoftmax" or "Hardmax" when opset < 13:
                var x = g[node.Input[0]];
                var coerced = node.GetInt("axis", 1);
                if (coerced < 0) coerced += x.Rank;
                Remove(node, "axis");
                node.Attribute.Add(Attr.Int("axis", -1));
                if (coerced == x.Rank - 1) break;
                // Old semantics: softmax over the flattened dims from axis on.
                var flat = g.UniqueName(node.Name + "_flat");
                var flatten = new NodeProto { OpType = "Flatten", Name = g.UniqueName(node.Name + "_Flatten") };
                flatten.Input.Add(node.Input[0]);
                flatten.Output.Add(flat);
                flatten.Attribute.Add(Attr.Int("axis", coerced));
                extra.Add(flatten);
                var finalOutput = node.Output[0];
                var soft = g.UniqueName(node.Name + "_2d");
                node.Input[0] = flat;
                node.Output[0] = soft;
                var reshape = new NodeProto { OpType = "Reshape", Name = g.UniqueName(node.Name + "_Reshape") };
                reshape.Input.Add(soft);
                reshape.Input.Add(AddConstant(g, node, "shape", Tensors.Create("shape", x.Shape.ToArray(), x.Rank)));
                reshape.Output.Add(finalOutput);
                return [.. extra, node, reshape];
        }
        return [.. extra, node];
    }

    private static void Remove(NodeProto node, params string[] names)
    {
        foreach (var name in names)
            if (node.Find(name) is { } a) node.Attribute.Remove(a);
    }

    private static void MoveToInput(GraphBuilder g, NodeProto node, string attribute, int position)
    {
        if (node.GetInts(attribute) is not { } values) return;
        Remove(node, attribute);
        while (node.Input.Count < position) node.Input.Add("");
        node.Input.Insert(position, AddConstant(g, node, attribute, Tensors.Create(attribute, values, values.Length)));
    }

    private static string AddConstant(GraphBuilder g, NodeProto node, string what, TensorProto t) =>
        g.Constant(t, (node.Name.Length > 0 ? node.Name : node.OpType) + "_" + what).Name;

    private static string Unsqueeze(GraphBuilder g, List<NodeProto> extra, NodeProto node, string input, long[] axes)
    {
        var u = new NodeProto { OpType = "Unsqueeze", Name = g.UniqueName(node.Name + "_align") };
        u.Input.Add(input);
        u.Input.Add(AddConstant(g, node, "axes", Tensors.Create("axes", axes, axes.Length)));
        var name = g.UniqueName(node.Name + "_aligned");
        u.Output.Add(name);
        extra.Add(u);
        return name;
    }

    private static TensorProto ScalarLike(DataType dtype, float value) => dtype == DataType.Double
        ? Tensors.Create("c", [(double)value])
        : Tensors.Create("c", [value]);
}
