using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Core;

/// <summary>Accumulates an ONNX graph: inputs, initializers, nodes (each shape-inferred through <see cref="OpRegistry"/>
/// as it is added) and outputs. Names are made unique under a stack of scopes (<c>conv2d_1/Conv</c>).</summary>
public sealed class GraphBuilder
{
    private sealed record Initializer(Value Value, Lazy<TensorProto> Tensor, object? Owner);

    private readonly List<NodeProto> _nodes = [];
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _outputs = [];
    private readonly Dictionary<string, Initializer> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used;
    private readonly Dictionary<object, Value> _byOwner = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dim[]> _shapeValues = new(StringComparer.Ordinal);
    private readonly Stack<string> _scopes;
    private readonly GraphBuilder? _parent;

    public GraphBuilder()
    {
        _used = new HashSet<string>(StringComparer.Ordinal);
        _scopes = new Stack<string>();
    }

    /// <summary>A subgraph (a Scan/Loop/If body) whose nodes may read this graph's values (ONNX outer scope). Names
    /// stay unique across the whole model, and initializers and constants it asks for go to the outermost graph
    /// (so that weights stay parameters of the training graph and the body merely reads them).</summary>
    private GraphBuilder(GraphBuilder parent)
    {
        _parent = parent;
        _used = parent._used;
        _scopes = new Stack<string>(parent._scopes.Reverse());
    }

    /// <summary>Starts a subgraph of this graph (see the private constructor); finish it with <see cref="ToGraph"/>.</summary>
    public GraphBuilder Subgraph() => new(this);

    /// <summary>The enclosing graph of a subgraph, null for the main graph.</summary>
    public GraphBuilder? Parent => _parent;

    private GraphBuilder Root => _parent?.Root ?? this;

    public IReadOnlyList<NodeProto> Nodes => _nodes;
    public IReadOnlyList<Value> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public IEnumerable<Value> InitializerValues => _initializers.Values.Select(i => i.Value);
    public Value this[string name] => Find(name) ?? throw new GraphException($"no value named '{name}' in the graph");
    /// <summary>Whether <paramref name="name"/> is a value of this graph or of an enclosing one.</summary>
    public bool Contains(string name) => Find(name) is not null;
    /// <summary>Whether <paramref name="name"/> is defined in this graph itself (not read from an enclosing scope).</summary>
    public bool IsLocal(string name) => _values.ContainsKey(name);
    private Value? Find(string name) => _values.TryGetValue(name, out var v) ? v : _parent?.Find(name);

    /// <summary>Opens a naming scope; dispose to close it.</summary>
    public IDisposable Scope(string name)
    {
        _scopes.Push(name);
        return new ScopeHandle(this);
    }

    public string CurrentScope => string.Join("/", _scopes.Reverse());

    /// <summary>A name not yet used in this graph: <c>scope/baseName</c>, then <c>_1</c>, <c>_2</c>…</summary>
    public string UniqueName(string baseName)
    {
        var full = _scopes.Count == 0 ? baseName : CurrentScope + "/" + baseName;
        var candidate = full;
        for (var n = 1; _used.Contains(candidate); n++) candidate = $"{full}_{n}";
        _used.Add(candidate);
        return candidate;
    }

    /// <summary>Lists initializer <paramref name="value"/> among the graph inputs too: its data becomes the default
    /// that a caller may override (ONNX IR ≥ 4), e.g. a stateful layer's carried state.</summary>
    public void ExposeAsInput(Value value)
    {
        if (!_initializers.ContainsKey(value.Name)) throw new GraphException($"'{value.Name}' is not an initializer of this graph");
        if (!_exposed.Contains(value.Name)) _exposed.Add(value.Name);
    }

    private readonly List<string> _exposed = [];

    public Value AddInput(string name, DataType dtype, Shape shape)
    {
        if (_values.ContainsKey(name)) throw new GraphException($"graph input '{name}' is defined twice");
        var v = new Value(name, dtype, shape);
        _values[name] = v;
        _used.Add(name);
        _inputs.Add(v);
        return v;
    }

    /// <summary>Marks <paramref name="value"/> as a graph output, under <paramref name="name"/> (through an Identity when renamed).</summary>
    public Value AddOutput(Value value, string? name = null)
    {
        // A subgraph output must be made by the subgraph's own nodes, once per output (ONNX Runtime does not pass an
        // enclosing scope's value or a body input straight through to a Scan output reliably).
        if (_parent is not null && name is null && (!_producer.ContainsKey(value.Name) || _outputs.Any(o => o.Name == value.Name)))
            value = Node1("Identity", [value]);
        if (name is not null && name != value.Name)
        {
            if (_values.ContainsKey(name)) throw new GraphException($"graph output name '{name}' is already used");
            var node = new NodeProto { OpType = "Identity", Name = UniqueName(name + "/Identity") };
            node.Input.Add(value.Name);
            node.Output.Add(name);
            _nodes.Add(node);
            value = value with { Name = name };
            _values[name] = value;
            _used.Add(name);
        }
        if (_outputs.Any(o => o.Name == value.Name)) throw new GraphException($"'{value.Name}' is already a graph output");
        _outputs.Add(value);
        return value;
    }

    /// <summary>A named initializer whose data is produced when the model is written. Registering the same
    /// <paramref name="owner"/> again returns the existing value, whatever the name (shared weights).</summary>
    public Value AddInitializer(string name, DataType dtype, Shape shape, Func<TensorProto> tensor, object? owner = null)
    {
        if (_parent is not null) return Root.AddInitializer(name, dtype, shape, tensor, owner);
        if (owner is not null && _byOwner.TryGetValue(owner, out var known)) return known;
        if (_initializers.ContainsKey(name)) throw new GraphException($"initializer '{name}' is defined twice");
        if (_values.ContainsKey(name)) throw new GraphException($"initializer name '{name}' is already used by another value");
        var v = new Value(name, dtype, shape);
        _initializers[name] = new Initializer(v, new Lazy<TensorProto>(() =>
        {
            var t = tensor();
            t.Name = name;
            return t;
        }), owner);
        if (owner is not null) _byOwner[owner] = v;
        _values[name] = v;
        _used.Add(name);
        return v;
    }

    public Value AddInitializer(TensorProto tensor) =>
        AddInitializer(tensor.Name, Tensors.TypeOf(tensor), Shape.Of(tensor.Dims.ToArray()), () => tensor, tensor);

    /// <summary>A constant tensor stored as an initializer with a unique name under the current scope.</summary>
    public Value Constant(TensorProto tensor, string baseName = "const")
    {
        var name = UniqueName(baseName);
        tensor.Name = name;
        return AddInitializer(tensor);
    }

    public Value Constant(float value, string baseName = "const") => Constant(Tensors.Create(baseName, [value]), baseName);
    public Value Constant(float[] values, long[] dims, string baseName = "const") => Constant(Tensors.Create(baseName, values, dims), baseName);
    /// <summary>A 1-D int64 constant (shapes, axes, pads).</summary>
    public Value Ints(params long[] values) => Constant(Tensors.Create("ints", values, values.Length), "ints");
    public Value Ints(string baseName, params long[] values) => Constant(Tensors.Create(baseName, values, values.Length), baseName);
    public Value ScalarLong(long value, string baseName = "const") => Constant(Tensors.Create(baseName, [value]), baseName);

    /// <summary>A constant scalar with the element type of <paramref name="like"/>.</summary>
    public Value Scalar(double value, DataType like, string baseName = "const") => like switch
    {
        DataType.Double => Constant(Tensors.Create(baseName, [value]), baseName),
        DataType.Int64 => Constant(Tensors.Create(baseName, [(long)value]), baseName),
        DataType.Int32 => Constant(Tensors.Create(baseName, [(int)value]), baseName),
        DataType.Float16 => Constant(Tensors.Raw(baseName, DataType.Float16,
            BitConverter.GetBytes(BitConverter.HalfToUInt16Bits((Half)value)), [], 1), baseName),
        _ => Constant(Tensors.Create(baseName, [(float)value]), baseName),
    };

    public TensorProto? ConstantValue(string name) => _initializers.TryGetValue(name, out var i) ? i.Tensor.Value : _parent?.ConstantValue(name);
    public bool IsInitializer(string name) => _initializers.ContainsKey(name) || _parent?.IsInitializer(name) == true;

    /// <summary>Emit MaxPool(Relu(x)) as Relu(MaxPool(x)), the same values (ReLU is monotone, so it commutes with a max):
    /// set for training graphs, where ReLU's gradient then runs on the pooled tensor (a quarter of the size for 2×2
    /// pools) instead of the convolution's output. The ReLU before the pool stays for any other reader and is dropped
    /// from the graph when there is none.</summary>
    public bool PoolBeforeRelu { get; init; }

    /// <summary>Emit a 2-D convolution with at most <see cref="SmallConvolution.MaxOutputPositions"/> output positions
    /// as matrix products (<see cref="SmallConvolution"/>): set for training graphs, where its gradients become MatMuls.</summary>
    public bool SmallConvolutionsAsMatMul { get; init; }

    /// <summary>Adds a node of <paramref name="opType"/>, infers its outputs and returns them (for the forms above, the
    /// outputs of the nodes that stand for it).</summary>
    public IReadOnlyList<Value> Node(string opType, IReadOnlyList<Value?> inputs, IEnumerable<AttributeProto>? attributes = null,
        int outputs = 1, string? name = null)
    {
        if (opType == "Transpose" && outputs == 1 && CancelledTranspose(inputs, attributes) is { } original) return [original];
        if (outputs == 1 && TrainingForm(opType, inputs, attributes, name) is { } replaced) return [replaced];
        var nodeName = UniqueName(name ?? opType);
        var node = new NodeProto { OpType = opType, Name = nodeName };
        foreach (var i in inputs)
        {
            if (i is not null && !Contains(i.Name))
                throw new GraphException($"{opType} node '{nodeName}': input '{i.Name}' is not a value of this graph");
            node.Input.Add(i?.Name ?? "");
        }
        // Trailing omitted optional inputs are dropped, as ONNX expects.
        while (node.Input.Count > 0 && node.Input[^1].Length == 0) node.Input.RemoveAt(node.Input.Count - 1);
        if (attributes is not null) node.Attribute.AddRange(attributes);
        var outputNames = Enumerable.Range(0, outputs).Select(k => k == 0 ? nodeName : UniqueName($"{name ?? opType}_out{k}")).ToList();
        node.Output.AddRange(outputNames);
        var op = OpRegistry.Get(opType, nodeName);
        var ctx = new InferenceContext(node, inputs.Select(i => i?.Type).ToList(), ConstantValue, ShapeValueOf);
        var types = op.Infer(ctx);
        if (types.Count < outputs) throw new GraphException($"{opType} node '{nodeName}': inference gave {types.Count} outputs, {outputs} requested");
        var result = new List<Value>(outputs);
        for (var k = 0; k < outputs; k++)
        {
            var v = new Value(outputNames[k], types[k].DType, types[k].Shape);
            _values[v.Name] = v;
            if (ctx.OutputShapeValues[k] is { } dims) _shapeValues[v.Name] = dims;
            result.Add(v);
        }
        _nodes.Add(node);
        foreach (var o in node.Output) _producer[o] = node;
        return result;
    }

    /// <summary>Emit a max pool whose windows tile the output of a convolution, with that convolution, as a Gather, a
    /// MatMul and a ReduceMax (<see cref="PooledConvolution"/>): set for training graphs, where the pool's gradient then
    /// needs no upsampling and the convolution's gradients are MatMuls.</summary>
    public bool PooledConvolutionsAsMatMul { get; init; }

    /// <summary>The training-graph form of a Conv or MaxPool node (<see cref="SmallConvolutionsAsMatMul"/>,
    /// <see cref="PoolBeforeRelu"/>, <see cref="PooledConvolutionsAsMatMul"/>), or null to emit the node as it is.</summary>
    private Value? TrainingForm(string opType, IReadOnlyList<Value?> inputs, IEnumerable<AttributeProto>? attributes, string? name)
    {
        if (opType == "Conv" && SmallConvolutionsAsMatMul) return SmallConvolution.TryLower(this, inputs, attributes);
        if (opType != "MaxPool" || inputs.Count != 1 || inputs[0] is not { } pooled) return null;
        var source = pooled;
        var reluAfter = PoolBeforeRelu && _producer.TryGetValue(pooled.Name, out var relu) && relu.OpType == "Relu" && _values.TryGetValue(relu.Input[0], out source);
        if (!reluAfter) source = pooled;
        if (PooledConvolutionsAsMatMul && _producer.TryGetValue(source!.Name, out var conv) && conv.OpType == "Conv"
            && PooledConvolution.TryLower(this, conv, attributes, reluAfter, name) is { } lowered)
            return lowered;
        return reluAfter ? Node1("Relu", [Node1(opType, [source], attributes, name)], name: (name ?? opType) + "_relu") : null;
    }

    private readonly Dictionary<string, Value> _batchInnermost = new(StringComparer.Ordinal);

    /// <summary>The same values as <paramref name="nchw"/> [N, C, H, W] laid out [C·H·W, N], where a training form made
    /// them so (<see cref="PooledConvolution"/>), else null.</summary>
    public Value? BatchInnermost(Value nchw) => _batchInnermost.GetValueOrDefault(nchw.Name);

    /// <summary>Records that <paramref name="layout"/> [C·H·W, N] holds the values of <paramref name="nchw"/>.</summary>
    public void SetBatchInnermost(Value nchw, Value layout) => _batchInnermost[nchw.Name] = layout;

    /// <summary>Transpose(Transpose(x, p), q) with q∘p the identity is x itself. Channels-last layers wrap each ONNX
    /// op in a transpose pair; cancelling them between consecutive layers keeps both the forward and the gradient
    /// graph free of layout shuffles.</summary>
    private Value? CancelledTranspose(IReadOnlyList<Value?> inputs, IEnumerable<AttributeProto>? attributes)
    {
        if (inputs.Count != 1 || inputs[0] is not { } y || !_producer.TryGetValue(y.Name, out var inner) || inner.OpType != "Transpose") return null;
        if (inner.Input.Count != 1 || !_values.TryGetValue(inner.Input[0], out var x)) return null;
        var outer = attributes?.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray();
        var first = inner.GetInts("perm");
        if (outer is null || first is null || outer.Length != first.Length) return null;
        for (var i = 0; i < outer.Length; i++) if (first[outer[i]] != i) return null;
        return x;
    }

    /// <summary>Adds a single-output node.</summary>
    public Value Node1(string opType, IReadOnlyList<Value?> inputs, IEnumerable<AttributeProto>? attributes = null, string? name = null) =>
        Node(opType, inputs, attributes, 1, name)[0];

    /// <summary>Appends an existing node (e.g. from an imported model) under its own output names, inferring their types.</summary>
    public IReadOnlyList<Value> Append(NodeProto node)
    {
        foreach (var i in node.Input)
            if (i.Length > 0 && !Contains(i))
                throw new GraphException($"{node.OpType} node '{node.Name}': input '{i}' is not a value of this graph");
        if (node.Name.Length == 0) node.Name = UniqueName(node.OpType);
        else if (_used.Contains(node.Name)) node.Name = UniqueName(node.Name);
        else _used.Add(node.Name);
        var op = OpRegistry.Get(node.OpType, node.Name);
        var ctx = new InferenceContext(node, node.Input.Select(i => i.Length > 0 ? (TensorType?)this[i].Type : null).ToList(), ConstantValue, ShapeValueOf);
        var types = op.Infer(ctx);
        var result = new List<Value>();
        for (var k = 0; k < node.Output.Count; k++)
        {
            if (node.Output[k].Length == 0) continue;
            if (k >= types.Count) throw new GraphException($"{node.OpType} node '{node.Name}': inference gave {types.Count} outputs, the node has {node.Output.Count}");
            result.Add(Declare(node.Output[k], types[k].DType, types[k].Shape));
            if (ctx.OutputShapeValues[k] is { } dims) _shapeValues[node.Output[k]] = dims;
        }
        _nodes.Add(node);
        foreach (var o in node.Output) _producer[o] = node;
        return result;
    }



    /// <summary>The dims an int64 value computed from Shape nodes holds (null when the graph does not know them).</summary>
    public Dim[]? ShapeValueOf(string name) => _shapeValues.GetValueOrDefault(name) ?? _parent?.ShapeValueOf(name);

    /// <summary>Narrows the recorded shape of <paramref name="v"/> to <paramref name="shape"/>, which its producer
    /// guarantees but inference cannot see (a Pad or Slice by run-time amounts that restores an input's shape): each
    /// dim takes the more specific of the two. Only for shapes the emitted nodes produce by construction.</summary>
    public Value Refine(Value v, Shape shape)
    {
        if (v.Rank != shape.Rank) throw new GraphException($"cannot refine '{v.Name}' {v.Shape} to {shape}: ranks differ");
        var dims = new Dim[v.Rank];
        for (var i = 0; i < dims.Length; i++)
        {
            Dim a = v.Shape[i], b = shape[i];
            if (a.IsKnown && b.IsKnown && a.Known != b.Known) throw new GraphException($"cannot refine '{v.Name}' {v.Shape} to {shape}: axis {i} differs");
            dims[i] = a.IsKnown ? a : b.IsKnown ? b : a.Symbol is not null ? a : b;
        }
        var refined = new Shape(dims);
        if (refined.Equals(v.Shape)) return v;
        var r = v with { Shape = refined };
        _values[v.Name] = r;
        return r;
    }

    /// <summary>Adds a value produced elsewhere (e.g. by a node appended from an imported graph) with a known type.</summary>
    public Value Declare(string name, DataType dtype, Shape shape)
    {
        var v = new Value(name, dtype, shape);
        _values[name] = v;
        _used.Add(name);
        return v;
    }

    public GraphProto ToGraph(string name = "main", bool valueInfo = true)
    {
        var live = OutputsWithoutIdentities(LiveNodes());
        var g = new GraphProto { Name = name };
        g.Input.AddRange(_inputs.Select(v => OnnxModels.ValueInfo(v.Name, v.DType, v.Shape)));
        g.Input.AddRange(_exposed.Select(n => _initializers[n].Value).Select(v => OnnxModels.ValueInfo(v.Name, v.DType, v.Shape)));
        g.Output.AddRange(_outputs.Select(v => OnnxModels.ValueInfo(v.Name, v.DType, v.Shape)));
        var used = live.SelectMany(ReadNames).Concat(_outputs.Select(o => o.Name)).ToHashSet();
        g.Initializer.AddRange(_initializers.Values.Where(i => used.Contains(i.Value.Name)).Select(i => i.Tensor.Value));
        g.Node.AddRange(live);
        if (valueInfo)
        {
            var declared = _inputs.Concat(_outputs).Select(v => v.Name).Concat(_initializers.Keys).ToHashSet();
            foreach (var n in live)
                foreach (var o in n.Output)
                    if (!declared.Contains(o) && _values.TryGetValue(o, out var v))
                        g.ValueInfo.Add(OnnxModels.ValueInfo(v.Name, v.DType, v.Shape));
        }
        return g;
    }

    /// <summary>Graph outputs renamed through an Identity (<see cref="AddOutput"/>) written by their producers instead:
    /// the producer's output and its readers take the output's name. ONNX Runtime keeps such an Identity, a copy per
    /// step, when the value has other readers (an optimizer's new moments, read again by the parameter update; a step
    /// of three 512-channel 3×3 convolutions at 7×7, batch 16: 141 against 150 ms without the copies). Values that are
    /// graph inputs, initializers or outputs themselves, or that a subgraph reads from this scope, keep their Identity.
    /// Nodes are copied, not changed, so the builder can go on.</summary>
    private List<NodeProto> OutputsWithoutIdentities(List<NodeProto> live)
    {
        if (_parent is not null) return live;
        var outputs = _outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in live) foreach (var o in n.Output) producers[o] = n;
        var readInSubgraphs = live.SelectMany(ImplicitInputs).ToHashSet(StringComparer.Ordinal);
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var dropped = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var n in live)
        {
            if (n.OpType != "Identity" || n.Domain.Length > 0 || n.Input.Count != 1 || !outputs.Contains(n.Output[0])) continue;
            var x = n.Input[0];
            if (!producers.ContainsKey(x) || outputs.Contains(x) || readInSubgraphs.Contains(x) || renamed.ContainsKey(x)) continue;
            renamed[x] = n.Output[0];
            dropped.Add(n);
        }
        if (renamed.Count == 0) return live;
        string Rename(string v) => renamed.TryGetValue(v, out var to) ? to : v;
        var result = new List<NodeProto>(live.Count - dropped.Count);
        foreach (var n in live)
        {
            if (dropped.Contains(n)) continue;
            if (!n.Input.Concat(n.Output).Any(renamed.ContainsKey)) { result.Add(n); continue; }
            var copy = n.Clone();
            for (var i = 0; i < copy.Input.Count; i++) copy.Input[i] = Rename(copy.Input[i]);
            for (var i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
            result.Add(copy);
        }
        return result;
    }

    /// <summary>The nodes some graph output depends on, in emission order (layers may leave unused values behind,
    /// e.g. a layout transpose that the next layer cancelled).</summary>
    private List<NodeProto> LiveNodes()
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in _nodes) foreach (var o in n.Output) producer[o] = n;
        var live = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<string>(_outputs.Select(o => o.Name));
        while (stack.Count > 0)
        {
            if (!producer.TryGetValue(stack.Pop(), out var n) || !live.Add(n)) continue;
            foreach (var i in n.Input) if (i.Length > 0) stack.Push(i);
            foreach (var sub in n.Attribute.Where(a => a.G is not null).Select(a => a.G))
                foreach (var outerName in SubgraphReferences(sub)) stack.Push(outerName);
        }
        return _nodes.Where(live.Contains).ToList();
    }

    /// <summary>Every name <paramref name="node"/> reads: its inputs, then what its subgraphs read from enclosing scopes.</summary>
    public static IEnumerable<string> ReadNames(NodeProto node) =>
        node.Input.Concat(node.Attribute.Where(a => a.G is not null).SelectMany(a => SubgraphReferences(a.G)));

    /// <summary>The names this graph's nodes read, subgraph bodies included.</summary>
    public IEnumerable<string> ReadNames() => _nodes.SelectMany(ReadNames);

    /// <summary>Names <paramref name="node"/>'s subgraphs read from enclosing scopes, each once, in order of first use:
    /// the node's implicit inputs, which the autodiff treats as inputs after the explicit ones.</summary>
    public static IReadOnlyList<string> ImplicitInputs(NodeProto node)
    {
        if (node.Attribute.All(a => a.G is null)) return [];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return node.Attribute.Where(a => a.G is not null).SelectMany(a => SubgraphReferences(a.G)).Where(seen.Add).ToList();
    }

    /// <summary>Names a subgraph reads from enclosing scopes.</summary>
    public static IEnumerable<string> SubgraphReferences(GraphProto sub)
    {
        var defined = sub.Input.Select(i => i.Name).Concat(sub.Initializer.Select(i => i.Name)).Concat(sub.Node.SelectMany(n => n.Output)).ToHashSet();
        return sub.Node.SelectMany(n => n.Input.Concat(n.Attribute.Where(a => a.G is not null).SelectMany(a => SubgraphReferences(a.G))))
            .Where(i => i.Length > 0 && !defined.Contains(i));
    }

    public ModelProto ToModel(string graphName = "main", IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = OnnxModels.NewModel(ToGraph(graphName));
        if (metadata is not null)
            foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    private sealed class ScopeHandle(GraphBuilder owner) : IDisposable
    {
        private bool _closed;
        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            owner._scopes.Pop();
        }
    }
}
