using System.Globalization;
using NeuralService.Graph.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Onnx;

/// <summary>A Keras-style summary read off an ONNX graph, for models that carry no Keras config (uploads): nodes are
/// grouped into rows by the scope their name starts with (<c>dense_1/MatMul</c> and <c>dense_1/Add</c> are the row
/// <c>dense_1</c>; an unscoped node is a row of its own), a row's output shape is that of its last node's first output
/// where the graph declares it (value_info, graph inputs and outputs), and its parameters are the elements of the
/// floating-point initializers its nodes read first. ONNX does not say which weights were trainable, so all count as
/// trainable.</summary>
public static class OnnxSummary
{
    public static SummaryTable Table(ModelProto model)
    {
        var g = model.Graph;
        var shapes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in g.Input.Concat(g.ValueInfo).Concat(g.Output))
            if (v.Type?.TensorType is { Shape: { } s }) shapes[v.Name] = KerasShape(s);
        var weights = g.Initializer.Where(t => DataTypes.IsFloat((DataType)t.DataType))
            .GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(t => t.Key, t => Elements(t.First()), StringComparer.Ordinal);
        var counted = new HashSet<string>(StringComparer.Ordinal);

        var rows = new List<(string Name, List<NodeProto> Nodes)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < g.Node.Count; i++)
        {
            var node = g.Node[i];
            var slash = node.Name.IndexOf('/', StringComparison.Ordinal);
            var scope = slash > 0 ? node.Name[..slash] : null;
            // A scope groups its nodes only while they are consecutive; a scope seen again later starts a new row.
            if (scope is not null && rows.Count > 0 && rows[^1].Name == scope) { rows[^1].Nodes.Add(node); continue; }
            var name = scope ?? (node.Name.Length > 0 ? node.Name : $"{node.OpType.ToLowerInvariant()}_{i}");
            var n = index[name] = index.GetValueOrDefault(name) + 1;
            rows.Add((n == 1 ? name : $"{name}_{n}", [node]));
        }

        var table = rows.Select(r =>
        {
            long parameters = 0;
            foreach (var input in r.Nodes.SelectMany(n => n.Input))
                if (weights.TryGetValue(input, out var size) && counted.Add(input)) parameters += size;
            var last = r.Nodes[^1];
            var shape = last.Output.Count > 0 && shapes.TryGetValue(last.Output[0], out var s) ? s : "?";
            var type = string.Join("+", r.Nodes.Select(n => n.OpType).Distinct());
            return new SummaryRow(r.Name, type, shape, parameters);
        }).ToList();
        // Initializers no node reads directly (a subgraph's, say) still belong to the model.
        var total = weights.Values.Sum();
        return new SummaryTable(g.Name.Length > 0 ? g.Name : "model", table, total, total);
    }

    private static long Elements(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>(None, 28, 28, 1): unknown and symbolic dims print as None.</summary>
    private static string KerasShape(TensorShapeProto s)
    {
        var dims = s.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? d.DimValue.ToString(CultureInfo.InvariantCulture) : "None").ToList();
        return dims.Count == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
    }
}
