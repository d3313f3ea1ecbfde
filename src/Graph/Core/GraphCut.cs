using NeuralService.Graph.Onnx;
using Onnx;

namespace NeuralService.Graph.Core;

/// <summary>The part of an imported graph that computes <see cref="Output"/> from <see cref="Input"/>: its nodes in the
/// source's order (opset 17, as <see cref="ModelImport"/> leaves them) and the initializers they read. A cut can be
/// emitted into another graph on any value of the input's type, so a pretrained network's top block becomes part of a
/// trainable model and its bottom a standalone model with a symbolic batch.</summary>
public sealed record GraphCut(string Input, string Output, TensorType InputType, IReadOnlyList<NodeProto> Nodes, IReadOnlyList<TensorProto> Initializers)
{
    public static GraphCut Of(ModelProto model, string input, string output) => Of(ModelImport.Import(model), input, output);

    /// <summary>The nodes <paramref name="output"/> depends on, back to <paramref name="input"/> and initializers; a cut that
    /// would also need another graph input is refused, as is one whose output does not depend on its input.</summary>
    public static GraphCut Of(GraphBuilder source, string input, string output)
    {
        if (!source.Contains(input)) throw new GraphException($"the graph has no value '{input}' to cut at");
        if (!source.Contains(output)) throw new GraphException($"the graph has no value '{output}' to cut at");
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in source.Nodes) foreach (var o in n.Output) producer[o] = n;
        var taken = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var initializers = new List<TensorProto>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reachesInput = false;
        var stack = new Stack<string>([output]);
        while (stack.Count > 0)
        {
            var name = stack.Pop();
            if (!seen.Add(name)) continue;
            if (name == input)
            {
                reachesInput = true;
                continue;
            }
            if (source.ConstantValue(name) is { } constant)
            {
                initializers.Add(constant);
                continue;
            }
            if (!producer.TryGetValue(name, out var node))
                throw new GraphException($"the cut from '{input}' to '{output}' also reads graph input '{name}'");
            if (!taken.Add(node)) continue;
            foreach (var i in GraphBuilder.ReadNames(node)) if (i.Length > 0) stack.Push(i);
        }
        if (!reachesInput) throw new GraphException($"'{output}' does not depend on '{input}'");
        var nodes = source.Nodes.Where(taken.Contains).Select(n => n.Clone()).ToList();
        var order = source.InitializerValues.Select((v, i) => (v.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        return new GraphCut(input, output, source[input].Type, nodes, initializers.OrderBy(t => order.GetValueOrDefault(t.Name)).ToList());
    }

    /// <summary>Emits the cut into <paramref name="g"/> on <paramref name="x"/> (for <see cref="Input"/>) under fresh names
    /// of g's current scope; <paramref name="initializer"/> gives the value standing for each initializer (a layer's
    /// weight, or a constant). Returns the value of <see cref="Output"/>.</summary>
    public Value Emit(GraphBuilder g, Value x, Func<TensorProto, Value> initializer)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { [Input] = x.Name };
        foreach (var t in Initializers) names[t.Name] = initializer(t).Name;
        foreach (var original in Nodes)
        {
            if (original.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0))
                throw new GraphException($"{original.Describe()}: cuts of graphs with control flow are not supported");
            var node = original.Clone();
            node.Name = node.Name.Length > 0 ? node.Name : node.OpType;
            for (var i = 0; i < node.Input.Count; i++)
                if (node.Input[i].Length > 0) node.Input[i] = names[node.Input[i]];
            for (var i = 0; i < node.Output.Count; i++)
                if (node.Output[i].Length > 0) node.Output[i] = names[node.Output[i]] = g.UniqueName(node.Output[i]);
            node.Name = g.UniqueName(node.Name);
            g.Append(node);
        }
        return g[names[Output]];
    }

    /// <summary>The cut as a model of its own: input <paramref name="inputName"/> of <see cref="InputType"/> with the
    /// first dim made the symbolic batch, initializers as constants, output <paramref name="outputName"/>.</summary>
    public ModelProto ToModel(string inputName = "input", string outputName = "output", string graphName = "cut")
    {
        var g = new GraphBuilder();
        var shape = InputType.Shape;
        var x = g.AddInput(inputName, InputType.DType, shape.Rank > 0 ? shape.WithDim(0, Dim.Batch) : shape);
        var y = Emit(g, x, t => g.Constant(t.Clone(), t.Name));
        g.AddOutput(y, outputName);
        return g.ToModel(graphName);
    }
}
