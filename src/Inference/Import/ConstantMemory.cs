using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Import;

/// <summary>The memory a model needs before any request arrives, read from the graph alone: its initializers and
/// constant attributes, plus every tensor whose shape the graph fixes with constants (<c>ConstantOfShape</c>,
/// <c>Expand</c>, <c>Tile</c>, <c>Range</c>), which ONNX Runtime folds into initializers at load or allocates on the
/// first run. A 173-byte file can ask for gigabytes this way, so the figure is checked before ONNX Runtime sees it.
/// It is a lower bound: shapes computed by other ops are left to the measurement at load.</summary>
public static class ConstantMemory
{
    /// <summary>Small integer tensors (shapes, repeats, range bounds) are followed by value; larger ones by size only.</summary>
    private const int MaxTrackedValues = 64;

    /// <summary>The estimate and the single largest contributor, for the message.</summary>
    public sealed record Estimate(double Bytes, double LargestBytes, string Largest);

    public static Estimate Of(ModelProto model)
    {
        var walk = new Walk();
        if (model.Graph is not null) walk.Graph(model.Graph, "graph");
        return new Estimate(walk.Total, walk.LargestBytes, walk.Largest);
    }

    private sealed class Walk
    {
        private readonly Dictionary<string, long[]> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long[] Shape, int Type)> _shapes = new(StringComparer.Ordinal);
        public double Total;
        public double LargestBytes;
        public string Largest = "nothing";

        private void Add(double bytes, string what)
        {
            Total += bytes;
            if (bytes > LargestBytes) { LargestBytes = bytes; Largest = what; }
        }

        public void Graph(GraphProto graph, string where)
        {
            foreach (var t in graph.Initializer) Tensor(t, $"{where}: initializer '{t.Name}'");
            foreach (var s in graph.SparseInitializer)
                if (s.Values is not null) Add(Elements(s.Values.Dims) * ByteSize(s.Values.DataType), $"{where}: sparse initializer '{s.Values.Name}'");
            foreach (var i in graph.Input)
                if (!_shapes.ContainsKey(i.Name) && i.Type?.TensorType is { } tt)
                    // Free dimensions count as 1, as in the warm-up run at load.
                    _shapes[i.Name] = (tt.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : 1).ToArray() ?? [], tt.ElemType);
            for (var k = 0; k < graph.Node.Count; k++)
            {
                var node = graph.Node[k];
                var label = $"{where}: node {k} ({node.OpType}{(node.Name.Length > 0 ? " '" + node.Name + "'" : "")})";
                foreach (var a in node.Attribute)
                {
                    if (a.G is not null) Graph(a.G, $"{label} subgraph '{a.Name}'");
                    foreach (var g in a.Graphs) Graph(g, $"{label} subgraph '{a.Name}'");
                }
                if (node.Domain is not ("" or "ai.onnx") || node.Output.Count == 0) continue;
                Node(node, label);
            }
        }

        private void Tensor(TensorProto t, string what)
        {
            var bytes = Elements(t.Dims) * ByteSize(t.DataType);
            if (t.DataType == (int)DataType.String) bytes = t.StringData.Sum(s => (double)s.Length + 32);
            Add(bytes, what);
            _shapes[t.Name] = (t.Dims.ToArray(), t.DataType);
            if (IntegerValues(t) is { } v) _values[t.Name] = v;
        }

        private void Node(NodeProto node, string label)
        {
            var output = node.Output[0];
            switch (node.OpType)
            {
                case "Constant":
                    if (node.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } t) { t = t.Clone(); t.Name = output; Tensor(t, label); }
                    else if (node.Attribute.FirstOrDefault(a => a.Name == "value_ints") is { } ints) Known(output, [.. ints.Ints], DataType.Int64);
                    else if (node.Attribute.FirstOrDefault(a => a.Name == "value_int") is { } one) Known(output, [one.I], DataType.Int64, scalar: true);
                    return;
                case "ConstantOfShape" when Value(node, 0) is { } dims:
                {
                    var type = node.Attribute.FirstOrDefault(a => a.Name == "value")?.T?.DataType ?? (int)DataType.Float;
                    Produce(output, dims, type, label);
                    return;
                }
                case "Expand" when Value(node, 1) is { } target && _shapes.TryGetValue(node.Input[0], out var x):
                    if (Broadcast(x.Shape, target) is { } shape) Produce(output, shape, x.Type, label);
                    return;
                case "Tile" when Value(node, 1) is { } repeats && _shapes.TryGetValue(node.Input[0], out var x) && repeats.Length == x.Shape.Length:
                    Produce(output, x.Shape.Zip(repeats, (d, r) => d * Math.Max(r, 0)).ToArray(), x.Type, label);
                    return;
                case "Range" when Value(node, 0) is [var start] && Value(node, 1) is [var limit] && Value(node, 2) is [var delta] && delta != 0:
                {
                    var count = Math.Max(Math.Ceiling(((double)limit - start) / delta), 0);
                    var type = _shapes.TryGetValue(node.Input[0], out var s) ? s.Type : (int)DataType.Int64;
                    Add(count * ByteSize(type), $"{label} of {count:0} elements");
                    if (count <= MaxTrackedValues) Known(output, Enumerable.Range(0, (int)count).Select(i => start + i * delta).ToArray(), (DataType)type);
                    return;
                }
                // Shape arithmetic that feeds the ops above, on small integer vectors.
                case "Identity" or "Cast" or "Squeeze" or "Unsqueeze" when Value(node, 0) is { } v:
                    Known(output, v, DataType.Int64);
                    return;
                case "Concat" when node.Input.Select((_, i) => Value(node, i)).ToList() is var parts && parts.All(p => p is not null):
                    Known(output, parts.SelectMany(p => p!).ToArray(), DataType.Int64);
                    return;
                case "Mul" or "Add" when Value(node, 0) is { } a && Value(node, 1) is { } b && (a.Length == b.Length || a.Length == 1 || b.Length == 1):
                {
                    var n = Math.Max(a.Length, b.Length);
                    Known(output, Enumerable.Range(0, n).Select(i =>
                    {
                        long l = a[a.Length == 1 ? 0 : i], r = b[b.Length == 1 ? 0 : i];
                        return node.OpType == "Mul" ? Saturate((double)l * r) : Saturate((double)l + r);
                    }).ToArray(), DataType.Int64);
                    return;
                }
            }
        }

        private void Known(string name, long[] values, DataType type, bool scalar = false)
        {
            _values[name] = values;
            _shapes[name] = (scalar ? [] : [values.Length], (int)type);
        }

        private void Produce(string name, long[] shape, int type, string label)
        {
            var elements = Elements(shape);
            Add(elements * ByteSize(type), $"{label} producing shape [{string.Join(", ", shape)}] of {(DataType)type}");
            _shapes[name] = (shape, type);
        }

        private long[]? Value(NodeProto node, int input) =>
            input < node.Input.Count && _values.TryGetValue(node.Input[input], out var v) ? v : null;
    }

    private static long Saturate(double v) => v >= long.MaxValue ? long.MaxValue : v <= long.MinValue ? long.MinValue : (long)v;

    /// <summary>Numpy-style broadcast of two shapes; null when they do not broadcast (ONNX Runtime will refuse it).</summary>
    private static long[]? Broadcast(long[] a, long[] b)
    {
        var n = Math.Max(a.Length, b.Length);
        var result = new long[n];
        for (var i = 0; i < n; i++)
        {
            var x = i < n - a.Length ? 1 : a[i - (n - a.Length)];
            var y = i < n - b.Length ? 1 : b[i - (n - b.Length)];
            if (x != y && x != 1 && y != 1) return null;
            result[i] = x == 1 ? y : x;
        }
        return result;
    }

    private static double Elements(IEnumerable<long> dims) => dims.Aggregate(1.0, (p, d) => p * Math.Max(d, 0));

    private static int ByteSize(int type)
    {
        try { return (DataType)type == DataType.String ? 32 : NeuralService.Graph.Onnx.DataTypes.ByteSize((DataType)type); }
        catch (NotSupportedException) { return 1; }
    }

    /// <summary>The values of a small int32/int64 tensor, from whichever field holds them; null for anything else.</summary>
    private static long[]? IntegerValues(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || Elements(t.Dims) > MaxTrackedValues) return null;
        switch ((DataType)t.DataType)
        {
            case DataType.Int64:
                if (t.Int64Data.Count > 0) return [.. t.Int64Data];
                if (t.RawData.Length % 8 != 0) return null;
                return Enumerable.Range(0, t.RawData.Length / 8).Select(i => BitConverter.ToInt64(t.RawData.Span[(i * 8)..])).ToArray();
            case DataType.Int32:
                if (t.Int32Data.Count > 0) return t.Int32Data.Select(v => (long)v).ToArray();
                if (t.RawData.Length % 4 != 0) return null;
                return Enumerable.Range(0, t.RawData.Length / 4).Select(i => (long)BitConverter.ToInt32(t.RawData.Span[(i * 4)..])).ToArray();
            default:
                return null;
        }
    }
}
