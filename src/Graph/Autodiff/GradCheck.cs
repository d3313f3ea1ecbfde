using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Autodiff;

/// <summary>Which gradients a check covers.</summary>
public enum GradCheckWrt
{
    /// <summary>The model's own float initializers.</summary>
    Parameters,
    /// <summary>The float graph inputs (not initializers): a model without parameters can be checked.</summary>
    Inputs,
    All,
}

/// <summary>Where the float64 evaluation ran.</summary>
public enum GradCheckBackend
{
    /// <summary>ONNX Runtime's double kernels (it has them for every op of the model and of its gradient graph).</summary>
    OnnxRuntime,
    /// <summary>tools/onnx-torch's ONNX evaluator on PyTorch float64 (ONNX Runtime lacks a double kernel the graphs need).</summary>
    PyTorch,
}

public sealed record GradCheckOptions
{
    public int Seed { get; init; } = 1234;
    /// <summary>Every element of a tensor up to this size is checked; a bigger tensor gets this many sampled elements
    /// (the result says so).</summary>
    public int MaxElementsPerTensor { get; init; } = 256;
    public GradCheckWrt Wrt { get; init; } = GradCheckWrt.Parameters;
    /// <summary>Only these initializers (null = every float initializer of the model).</summary>
    public IReadOnlyCollection<string>? Parameters { get; init; }
    /// <summary>Step h of the fourth-order central difference (f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h)) / 12h.</summary>
    public double Step { get; init; } = DefaultStep;
    /// <summary>Largest relative error |a − n| / max(|a|, |n|, <see cref="AbsoluteFloor"/>) of any element that passes.</summary>
    public double Tolerance { get; init; } = DefaultTolerance;
    /// <summary>Below this magnitude errors are measured absolutely: a gradient near zero has no meaningful relative error.</summary>
    public double AbsoluteFloor { get; init; } = DefaultAbsoluteFloor;
    /// <summary>Evaluate with the PyTorch float64 reference even where ONNX Runtime has double kernels.</summary>
    public bool ForcePyTorch { get; init; }
    /// <summary>The Python that runs the PyTorch reference (null = <see cref="TorchReference.Python"/>).</summary>
    public string? ReferencePython { get; init; }
    public GradientOptions Gradients { get; init; } = GradientOptions.Default;

    public const double DefaultStep = 1e-4;
    public const double DefaultTolerance = 1e-6;
    public const double DefaultAbsoluteFloor = 1e-4;
}

/// <summary>One checked tensor: <see cref="Indices"/> (flat) of its <see cref="Elements"/> elements, with the analytic and
/// numeric gradient at each. <see cref="NonSmooth"/> marks elements where the loss has a kink within ±2h (a ReLU or max
/// switching sides: the central differences of step h and 2h disagree); they are reported, not judged.</summary>
public sealed record ParameterCheck(string Name, long[] Dims, long Elements, int[] Indices, double[] Analytic, double[] Numeric,
    bool[] NonSmooth, double MaxRelativeError, int WorstIndex, double Tolerance)
{
    public bool Passed => MaxRelativeError <= Tolerance && (Indices.Length == 0 || NonSmooth.Any(n => !n));
    public int CheckedElements => Indices.Length;
    public bool Sampled => Indices.Length < Elements;
    public int NonSmoothCount => NonSmooth.Count(n => n);

    public string Coverage => (Sampled ? $"{CheckedElements} of {Elements} elements (sampled)" : $"all {Elements} elements")
        + (NonSmoothCount > 0 ? $", {NonSmoothCount} at a kink skipped" : "");

    public override string ToString()
    {
        var worst = WorstIndex >= 0
            ? string.Create(CultureInfo.InvariantCulture, $" at [{Indices[WorstIndex]}] (analytic {Analytic[WorstIndex]:g10}, numeric {Numeric[WorstIndex]:g10})")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{Name} [{string.Join(",", Dims)}]: {Coverage}, max rel err {MaxRelativeError:g3}{worst} (tolerance {Tolerance:g3}) {(Passed ? "ok" : "FAIL")}");
    }
}

public sealed record GradCheckResult(GradCheckBackend Backend, IReadOnlyList<ParameterCheck> Parameters, ModelProto GradientModel)
{
    public bool Passed => Parameters.All(p => p.Passed);
    public string Precision => Backend == GradCheckBackend.OnnxRuntime ? "float64, ONNX Runtime" : "float64, PyTorch reference";
    public override string ToString() =>
        $"gradcheck ({Precision}): {(Passed ? "passed" : "FAILED")}\n" + string.Join("\n", Parameters);
}

/// <summary>One model for <see cref="GradCheck.RunMany"/>.</summary>
public sealed record GradCheckRequest(ModelProto Model, IReadOnlyDictionary<string, TensorProto>? Inputs = null, GradCheckOptions? Options = null);

/// <summary>Checks the autodiff against finite differences, in float64 throughout: loss = Σ_outputs Σ(output ⊙ fixed
/// random projection); its gradient graph evaluated once; the loss re-evaluated with each checked element moved by
/// ±h, ±2h. ONNX Runtime evaluates where it has double kernels for every node, else the PyTorch reference
/// (<see cref="TorchReference"/>). Each element's relative error is judged on its own.</summary>
public static class GradCheck
{
    private static readonly double[] StencilOffsets = [-2, -1, 1, 2];
    private static readonly double[] StencilWeights = [1, -8, 8, -1];
    private const double KinkThreshold = 1e-3;

    public static GradCheckResult Run(ModelProto model, IReadOnlyDictionary<string, TensorProto>? inputs = null, GradCheckOptions? options = null) =>
        RunMany([new GradCheckRequest(model, inputs, options)])[0];

    /// <summary>Checks several models; those that need the PyTorch reference go to it in one request.</summary>
    public static IReadOnlyList<GradCheckResult> RunMany(IReadOnlyList<GradCheckRequest> requests)
    {
        var prepared = requests.Select(r => Prepare(r.Model, r.Inputs, r.Options ?? new GradCheckOptions())).ToList();
        foreach (var torch in prepared.Where(p => p.Backend == GradCheckBackend.PyTorch).GroupBy(p => p.Options.ReferencePython))
        {
            var batch = torch.ToList();
            var results = TorchReference.Run(batch.Select(p => new TorchReference.Job(p.GradientModel, p.Feeds, p.GradientOutputs.Values.ToList(),
                p.LossName, StencilOffsets.Select(o => o * p.Options.Step).ToList(), p.Sample)).ToList(), torch.Key);
            for (var i = 0; i < batch.Count; i++)
            {
                var p = batch[i];
                if (results[i].Error is { } error)
                    throw new GraphException($"the float64 reference (PyTorch) could not evaluate the gradient model: {error}");
                foreach (var (name, output) in p.GradientOutputs) p.Analytic[name] = Tensors.ToDoubles(results[i].Outputs[output]);
                foreach (var (name, table) in results[i].Perturbed) p.Losses[name] = table;
            }
        }
        foreach (var p in prepared.Where(p => p.Backend == GradCheckBackend.OnnxRuntime)) EvaluateInOrt(p);
        return prepared.Select(Compare).ToList();
    }

    private sealed class Prepared
    {
        public required GradCheckOptions Options { get; init; }
        public required GradCheckBackend Backend { get; init; }
        public required ModelProto GradientModel { get; init; }
        public required ModelProto LossModel { get; init; }
        public required string LossName { get; init; }
        /// <summary>Float feeds in float64, every other feed as given.</summary>
        public required Dictionary<string, TensorProto> Feeds { get; init; }
        /// <summary>Checked tensor → gradient output name.</summary>
        public required Dictionary<string, string> GradientOutputs { get; init; }
        public required Dictionary<string, TensorProto> Values { get; init; }
        public required Dictionary<string, int[]> Sample { get; init; }
        public Dictionary<string, double[]> Analytic { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, double[,]> Losses { get; } = new(StringComparer.Ordinal);
    }

    private static Prepared Prepare(ModelProto model, IReadOnlyDictionary<string, TensorProto>? given, GradCheckOptions options)
    {
        if (!(options.Step > 0)) throw new ArgumentException($"gradcheck step must be positive, got {options.Step}");
        if (!(options.Tolerance > 0)) throw new ArgumentException($"gradcheck tolerance must be positive, got {options.Tolerance}");
        if (options.MaxElementsPerTensor < 1) throw new ArgumentException($"gradcheck needs at least 1 element per tensor, got {options.MaxElementsPerTensor}");
        // Parameters are the model's own initializers, not the constants an import adds.
        var own = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var chosen = options.Parameters is null ? own : options.Parameters.Where(own.Contains).ToHashSet(StringComparer.Ordinal);
        // Old opsets are upgraded on import: ONNX Runtime no longer runs some of their kernels.
        var upgraded = GraphBuilder.FromModel(model).ToModel();
        var doubled = ToDouble(upgraded);
        var feeds = Feeds(doubled, given, options);
        var outputDims = OutputDims(upgraded, doubled, feeds);

        var rng = new Random(options.Seed);
        var g = GraphBuilder.FromModel(doubled);
        Value loss;
        using (g.Scope("gradcheck"))
        {
            var terms = new List<Value>();
            foreach (var output in g.Outputs.Where(o => outputDims.ContainsKey(o.Name)))
            {
                var dims = outputDims[output.Name];
                var n = (int)dims.Aggregate(1L, (p, d) => p * d);
                var projection = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
                var p = g.Constant(Tensors.Create("projection", projection, dims), "projection");
                terms.Add(g.Node1("ReduceSum", [g.Mul(output, p)], [Attr.Int("keepdims", 0)]));
            }
            if (terms.Count == 0) throw new GraphException("the model has no floating-point output to check");
            loss = terms.Count == 1 ? terms[0] : g.Node1("Sum", terms);
        }
        var wrtParameters = options.Wrt is GradCheckWrt.Parameters or GradCheckWrt.All;
        var wrtInputs = options.Wrt is GradCheckWrt.Inputs or GradCheckWrt.All;
        var wrt = (wrtParameters ? g.InitializerValues.Where(v => v.DType == DataType.Double && chosen.Contains(v.Name)) : [])
            .Concat(wrtInputs ? g.Inputs.Where(v => v.DType == DataType.Double) : [])
            .ToList();
        if (wrt.Count == 0)
            throw new GraphException(options.Wrt switch
            {
                GradCheckWrt.Parameters => "the model has no floating-point parameter to check (check its inputs instead: wrt inputs)",
                GradCheckWrt.Inputs => "the model has no floating-point input to check",
                _ => "the model has no floating-point parameter or input to check",
            });
        var lossOut = g.AddOutput(loss, "gradcheck/loss");
        var forwardModel = g.ToModel();
        var gradients = Gradients.Build(g, loss, wrt, options.Gradients);
        var gradNames = wrt.ToDictionary(p => p.Name, p => g.AddOutput(gradients[p.Name], "gradcheck/d_" + p.Name).Name, StringComparer.Ordinal);
        var gradientModel = g.ToModel();

        // The loss alone, with the checked initializers turned into inputs so that they can be moved.
        var lossModel = forwardModel;
        lossModel.Graph.Output.Clear();
        lossModel.Graph.Output.Add(OnnxModels.ValueInfo(lossOut.Name, lossOut.DType, lossOut.Shape));
        var values = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var p in wrt)
        {
            if (lossModel.Graph.Initializer.FirstOrDefault(i => i.Name == p.Name) is { } t)
            {
                lossModel.Graph.Initializer.Remove(t);
                lossModel.Graph.Input.Add(OnnxModels.ValueInfo(p.Name, p.DType, Shape.Of(t.Dims.ToArray())));
                values[p.Name] = t;
            }
            else values[p.Name] = feeds[p.Name];
        }
        var sample = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var (name, t) in values)
        {
            var n = (int)Tensors.ElementCount(t);
            sample[name] = n <= options.MaxElementsPerTensor
                ? Enumerable.Range(0, n).ToArray()
                : Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(options.MaxElementsPerTensor).Order().ToArray();
        }
        var backend = !options.ForcePyTorch && RunsInOrt(gradientModel) ? GradCheckBackend.OnnxRuntime : GradCheckBackend.PyTorch;
        return new Prepared
        {
            Options = options, Backend = backend, GradientModel = gradientModel, LossModel = lossModel, LossName = lossOut.Name,
            Feeds = feeds, GradientOutputs = gradNames, Values = values, Sample = sample,
        };
    }

    /// <summary>Output shapes for the projection: static where inference knows them, else from a float32 forward run.</summary>
    private static Dictionary<string, long[]> OutputDims(ModelProto upgraded, ModelProto doubled, Dictionary<string, TensorProto> feeds)
    {
        var g = GraphBuilder.FromModel(doubled);
        var floats = g.Outputs.Where(o => DataTypes.IsFloat(o.DType)).ToList();
        if (floats.All(o => o.Shape.IsFullyKnown)) return floats.ToDictionary(o => o.Name, o => o.Shape.ToArray());
        using var session = Session(upgraded);
        var runFeeds = feeds.Select(f => ToOrt(f.Key, f.Value, asFloat: true)).ToList();
        using var results = session.Run(runFeeds);
        return results.Where(r => r.Value is Tensor<float> or Tensor<double>)
            .ToDictionary(r => r.Name, r => r.Value is Tensor<double> d ? d.Dimensions.ToArray().Select(x => (long)x).ToArray()
                : ((Tensor<float>)r.Value).Dimensions.ToArray().Select(x => (long)x).ToArray());
    }

    private static bool RunsInOrt(ModelProto gradientModel)
    {
        try
        {
            using var session = Session(gradientModel);
            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false;
        }
    }

    private static void EvaluateInOrt(Prepared p)
    {
        var inputNames = p.GradientModel.Graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        using (var session = Session(p.GradientModel))
        using (var results = session.Run(p.Feeds.Where(f => inputNames.Contains(f.Key)).Select(f => ToOrt(f.Key, f.Value)).ToList(),
            p.GradientOutputs.Values.ToList()))
        {
            var byOutput = results.ToDictionary(r => r.Name, r => ToDoubles(r.Value));
            foreach (var (name, output) in p.GradientOutputs) p.Analytic[name] = byOutput[output];
        }

        using var lossSession = Session(p.LossModel);
        var lossInputs = p.LossModel.Graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var fixedFeeds = p.Feeds.Where(f => lossInputs.Contains(f.Key) && !p.Values.ContainsKey(f.Key)).Select(f => ToOrt(f.Key, f.Value)).ToList();
        var current = p.Values.ToDictionary(v => v.Key, v => Tensors.ToDoubles(v.Value), StringComparer.Ordinal);
        var dims = p.Values.ToDictionary(v => v.Key, v => v.Value.Dims.Select(d => (int)d).ToArray(), StringComparer.Ordinal);
        foreach (var (name, indices) in p.Sample)
        {
            var data = current[name];
            var table = new double[indices.Length, StencilOffsets.Length];
            for (var e = 0; e < indices.Length; e++)
            {
                var k = indices[e];
                var original = data[k];
                for (var o = 0; o < StencilOffsets.Length; o++)
                {
                    data[k] = original + StencilOffsets[o] * p.Options.Step;
                    var all = new List<NamedOnnxValue>(fixedFeeds);
                    foreach (var (n, v) in current) all.Add(NamedOnnxValue.CreateFromTensor(n, new DenseTensor<double>(v, dims[n])));
                    using var r = lossSession.Run(all);
                    table[e, o] = ToDoubles(r.First().Value)[0];
                }
                data[k] = original;
            }
            p.Losses[name] = table;
        }
    }

    private static GradCheckResult Compare(Prepared p)
    {
        var o = p.Options;
        var checks = p.Sample.Select(entry =>
        {
            var (name, indices) = entry;
            var table = p.Losses[name];
            var analytic = p.Analytic[name];
            var ana = new double[indices.Length];
            var num = new double[indices.Length];
            var worst = 0.0;
            var worstAt = -1;
            var nonSmooth = new bool[indices.Length];
            for (var e = 0; e < indices.Length; e++)
            {
                var sum = 0.0;
                for (var s = 0; s < StencilOffsets.Length; s++) sum += StencilWeights[s] * table[e, s];
                num[e] = sum / (12 * o.Step);
                ana[e] = analytic[indices[e]];
                // For a smooth loss the h and 2h central differences agree to about h² times the third derivative; a kink
                // within ±2h makes them differ by a share of the jump in slope.
                var c1 = (table[e, 2] - table[e, 1]) / (2 * o.Step);
                var c2 = (table[e, 3] - table[e, 0]) / (4 * o.Step);
                nonSmooth[e] = Math.Abs(c1 - c2) > KinkThreshold * Math.Max(Math.Max(Math.Abs(c1), Math.Abs(c2)), o.AbsoluteFloor);
                if (nonSmooth[e]) continue;
                var err = Math.Abs(ana[e] - num[e]) / Math.Max(Math.Max(Math.Abs(ana[e]), Math.Abs(num[e])), o.AbsoluteFloor);
                if (double.IsNaN(err)) err = double.PositiveInfinity;
                if (err > worst || worstAt < 0) (worst, worstAt) = (err, e);
            }
            var t = p.Values[name];
            return new ParameterCheck(name, t.Dims.ToArray(), Tensors.ElementCount(t), indices, ana, num, nonSmooth, worst, worstAt, o.Tolerance);
        }).ToList();
        return new GradCheckResult(p.Backend, checks, p.GradientModel);
    }

    private static InferenceSession Session(ModelProto model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        return new InferenceSession(model.ToByteArray(), options);
    }

    /// <summary>The model with every float32 tensor (initializers, inputs, outputs, casts, constants) made float64, in
    /// subgraph bodies too. Resize's scales stay float32 (the operator admits no other type): a constant one is left as it
    /// is, a computed one is cast back.</summary>
    public static ModelProto ToDouble(ModelProto model)
    {
        var m = model.Clone();
        ToDouble(m.Graph, clearValueInfo: true);
        return m;
    }

    private static void ToDouble(GraphProto graph, bool clearValueInfo)
    {
        var scales = graph.Node.Where(n => n.OpType == "Resize" && n.Input.Count > 2 && n.Input[2].Length > 0).Select(n => n.Input[2])
            .ToHashSet(StringComparer.Ordinal);
        var constantScales = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            if (Tensors.TypeOf(graph.Initializer[i]) != DataType.Float) continue;
            if (scales.Contains(graph.Initializer[i].Name)) constantScales.Add(graph.Initializer[i].Name);
            else graph.Initializer[i] = ToDouble(graph.Initializer[i]);
        }
        foreach (var node in graph.Node.Where(n => n.OpType == "Constant" && n.Output.Count == 1 && scales.Contains(n.Output[0])))
            constantScales.Add(node.Output[0]);
        var inputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var v in graph.Input.Concat(graph.Output).Concat(graph.ValueInfo))
            if (v.Type?.TensorType is { ElemType: (int)DataType.Float } t && !(constantScales.Contains(v.Name) && inputs.Contains(v.Name)))
                t.ElemType = (int)DataType.Double;
        if (clearValueInfo) graph.ValueInfo.Clear();
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (node.OpType == "Constant" && node.Output.Count == 1 && constantScales.Contains(node.Output[0])) continue;
                if (node.OpType == "Cast" && a.Name == "to" && a.I == (long)DataType.Float) a.I = (long)DataType.Double;
                if (a.T is { } tensor && Tensors.TypeOf(tensor) == DataType.Float) a.T = ToDouble(tensor);
                if (a.G is not null) ToDouble(a.G, clearValueInfo: false);
                foreach (var sub in a.Graphs) ToDouble(sub, clearValueInfo: false);
            }
        for (var k = 0; k < graph.Node.Count; k++)
        {
            var node = graph.Node[k];
            if (node.OpType != "Resize" || node.Input.Count <= 2 || node.Input[2].Length == 0 || constantScales.Contains(node.Input[2])) continue;
            var cast = new NodeProto { OpType = "Cast", Name = node.Name + "/scales_float", Input = { node.Input[2] }, Output = { node.Name + "/scales_float" } };
            cast.Attribute.Add(Attr.Int("to", (long)DataType.Float));
            node.Input[2] = cast.Output[0];
            graph.Node.Insert(k++, cast);
        }
    }

    private static TensorProto ToDouble(TensorProto t) => Tensors.Create(t.Name, Tensors.ToDoubles(t), t.Dims.ToArray());

    /// <summary>The model's non-initializer inputs: given values (floats made float64) or, for static float inputs, uniform
    /// values in [−1, 1).</summary>
    private static Dictionary<string, TensorProto> Feeds(ModelProto model, IReadOnlyDictionary<string, TensorProto>? given, GradCheckOptions options)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var rng = new Random(options.Seed + 1);
        var feeds = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            var type = OnnxModels.TypeOf(input) ?? throw new GraphException($"input '{input.Name}' is not a tensor");
            if (given is not null && given.TryGetValue(input.Name, out var t))
            {
                var typeOf = Tensors.TypeOf(t);
                if (typeOf is not (DataType.Float or DataType.Double or DataType.Int64 or DataType.Int32 or DataType.Bool))
                    throw new GraphException($"input '{input.Name}' of {typeOf} is not supported");
                var copy = DataTypes.IsFloat(typeOf) ? Tensors.Create(input.Name, Tensors.ToDoubles(t), t.Dims.ToArray()) : t.Clone();
                copy.Name = input.Name;
                feeds[input.Name] = copy;
                continue;
            }
            if (!DataTypes.IsFloat(type.DType) || !type.Shape.IsFullyKnown)
                throw new GraphException($"input '{input.Name}' ({type}) needs a value: only static float inputs are drawn at random");
            var dims = type.Shape.ToArray();
            var data = Enumerable.Range(0, (int)dims.Aggregate(1L, (p, d) => p * d)).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            feeds[input.Name] = Tensors.Create(input.Name, data, dims);
        }
        return feeds;
    }

    private static NamedOnnxValue ToOrt(string name, TensorProto t, bool asFloat = false)
    {
        var dims = t.Dims.Select(d => (int)d).ToArray();
        return Tensors.TypeOf(t) switch
        {
            DataType.Float or DataType.Double => asFloat
                ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(Tensors.ToDoubles(t).Select(v => (float)v).ToArray(), dims))
                : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(Tensors.ToDoubles(t), dims)),
            DataType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(Tensors.ToLongs(t), dims)),
            DataType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(Tensors.ToLongs(t).Select(v => (int)v).ToArray(), dims)),
            DataType.Bool => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(Tensors.ToLongs(t).Select(v => v != 0).ToArray(), dims)),
            var other => throw new GraphException($"input '{name}' of {other} is not supported"),
        };
    }

    private static double[] ToDoubles(object value) => value switch
    {
        Tensor<double> d => d.ToArray(),
        Tensor<float> f => f.ToArray().Select(v => (double)v).ToArray(),
        _ => throw new GraphException($"expected a floating-point tensor, got {value.GetType().Name}"),
    };
}
