using Onnx;

namespace NeuralService.Inference.Import;

/// <summary>Structural checks of an untrusted model before anything else touches it: opset imports, every node input
/// defined (subgraphs see their outer scopes), no negative dims, no shape or initializer above the element limit.</summary>
public static class ModelChecker
{
    public static void Check(ModelProto model, ImportLimits limits)
    {
        if (model.Graph is null) throw new InvalidModelException("model has no graph");
        if (model.IrVersion < 3) throw new InvalidModelException($"IR version {model.IrVersion} is too old (3 or newer needed)");
        var defaultImports = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").ToList();
        if (model.Graph.Node.Count > 0 && defaultImports.Count == 0 && model.Graph.Node.Any(n => n.Domain is "" or "ai.onnx"))
            throw new InvalidModelException("model uses ONNX operators but imports no default-domain opset");
        foreach (var o in defaultImports)
            if (o.Version > limits.MaxOpset)
                throw new InvalidModelException($"model imports opset {o.Version} of the default ONNX domain; at most {limits.MaxOpset} is supported");
        CheckGraph(model.Graph, [], limits, depth: 0, "graph");
        if (limits.MaxModelMemoryBytes is { } budget)
        {
            var estimate = ConstantMemory.Of(model);
            if (estimate.Bytes > budget)
                throw new ModelMemoryException($"model needs at least {estimate.Bytes:0} bytes of memory for its constants, over the "
                    + $"{budget}-byte model memory budget (Neural:MaxModelMemoryBytes); the largest is {estimate.Largest}, {estimate.LargestBytes:0} bytes");
        }
    }

    private static void CheckGraph(GraphProto graph, HashSet<string> outer, ImportLimits limits, int depth, string where)
    {
        if (depth > limits.MaxGraphDepth) throw new InvalidModelException($"{where}: subgraphs nested deeper than {limits.MaxGraphDepth}");
        var scope = new HashSet<string>(outer, StringComparer.Ordinal);
        foreach (var t in graph.Initializer) { CheckTensor(t, limits, where); scope.Add(t.Name); }
        foreach (var s in graph.SparseInitializer)
        {
            if (s.Values is null) throw new InvalidModelException($"{where}: sparse initializer without values");
            CheckDims(s.Dims, limits, $"{where}: sparse initializer '{s.Values.Name}'");
            scope.Add(s.Values.Name);
        }
        foreach (var i in graph.Input) { CheckValueInfo(i, limits, where); scope.Add(i.Name); }
        foreach (var v in graph.ValueInfo) CheckValueInfo(v, limits, where);
        foreach (var o in graph.Output) CheckValueInfo(o, limits, where);

        for (var k = 0; k < graph.Node.Count; k++)
        {
            var node = graph.Node[k];
            var label = $"{where}: node {k} ({node.OpType}{(node.Name.Length > 0 ? " '" + node.Name + "'" : "")})";
            foreach (var input in node.Input)
                if (input.Length > 0 && !scope.Contains(input))
                    throw new InvalidModelException($"{label} reads '{input}', which no input, initializer or earlier node defines");
            foreach (var a in node.Attribute)
            {
                if (a.T is not null) CheckTensor(a.T, limits, $"{label} attribute '{a.Name}'");
                foreach (var t in a.Tensors) CheckTensor(t, limits, $"{label} attribute '{a.Name}'");
                if (a.G is not null) CheckGraph(a.G, scope, limits, depth + 1, $"{label} subgraph '{a.Name}'");
                foreach (var g in a.Graphs) CheckGraph(g, scope, limits, depth + 1, $"{label} subgraph '{a.Name}'");
            }
            foreach (var output in node.Output)
                if (output.Length > 0) scope.Add(output);
        }
        foreach (var o in graph.Output)
            if (!scope.Contains(o.Name)) throw new InvalidModelException($"{where}: output '{o.Name}' is never computed");
    }

    private static void CheckValueInfo(ValueInfoProto info, ImportLimits limits, string where)
    {
        var t = info.Type;
        while (t is not null)
        {
            switch (t.ValueCase)
            {
                case TypeProto.ValueOneofCase.TensorType:
                    if (t.TensorType.Shape is { } shape) CheckDims(shape.Dim, limits, $"{where}: value '{info.Name}'");
                    return;
                case TypeProto.ValueOneofCase.SparseTensorType:
                    if (t.SparseTensorType.Shape is { } sshape) CheckDims(sshape.Dim, limits, $"{where}: value '{info.Name}'");
                    return;
                case TypeProto.ValueOneofCase.SequenceType: t = t.SequenceType.ElemType; break;
                case TypeProto.ValueOneofCase.OptionalType: t = t.OptionalType.ElemType; break;
                case TypeProto.ValueOneofCase.MapType: t = t.MapType.ValueType; break;
                default: return;
            }
        }
    }

    private static void CheckDims(IEnumerable<TensorShapeProto.Types.Dimension> dims, ImportLimits limits, string label)
    {
        var count = 1.0;
        foreach (var d in dims)
        {
            if (d.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue) continue;
            if (d.DimValue < 0) throw new InvalidModelException($"{label} declares a negative dimension {d.DimValue}");
            count *= d.DimValue;
        }
        if (count > limits.MaxElements)
            throw new InvalidModelException($"{label} declares {count:0} elements, over the limit of {limits.MaxElements}");
    }

    private static void CheckDims(IEnumerable<long> dims, ImportLimits limits, string label)
    {
        var count = 1.0;
        foreach (var d in dims)
        {
            if (d < 0) throw new InvalidModelException($"{label} has a negative dimension {d}");
            count *= d;
        }
        if (count > limits.MaxElements)
            throw new InvalidModelException($"{label} has {count:0} elements, over the limit of {limits.MaxElements}");
    }

    private static void CheckTensor(TensorProto t, ImportLimits limits, string where)
    {
        CheckDims(t.Dims, limits, $"{where}: tensor '{t.Name}'");
        var type = (TensorProto.Types.DataType)t.DataType;
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.RawData.IsEmpty || type == TensorProto.Types.DataType.String) return;
        int size;
        try { size = NeuralService.Graph.Onnx.DataTypes.ByteSize(type); }
        catch (NotSupportedException) { return; }
        var expected = t.Dims.Aggregate(1L, (p, d) => p * d) * size;
        if (t.RawData.Length != expected)
            throw new InvalidModelException($"{where}: tensor '{t.Name}' holds {t.RawData.Length} bytes of raw data, its shape needs {expected}");
    }
}
