using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Autodiff;

public sealed record GradCheckOptions
{
    public int Seed { get; init; } = 1234;
    /// <summary>Elements checked per parameter; bigger parameters are sampled.</summary>
    public int MaxElementsPerParameter { get; init; } = 6;
    /// <summary>Also check float graph inputs (not only initializers).</summary>
    public bool IncludeInputs { get; init; }
    /// <summary>Only these initializers (null = every float initializer of the model).</summary>
    public IReadOnlyCollection<string>? Parameters { get; init; }
    /// <summary>Run in float64 where ONNX Runtime has double kernels for every op of the model.</summary>
    public bool PreferDouble { get; init; } = true;
    public double? Step { get; init; }
    public GradientOptions Gradients { get; init; } = GradientOptions.Default;
    public double? Tolerance { get; init; }
}

public sealed record ParameterCheck(string Name, long[] Dims, int CheckedElements, double MaxRelativeError, double Tolerance)
{
    public bool Passed => MaxRelativeError <= Tolerance;
    public override string ToString() =>
        $"{Name} [{string.Join(",", Dims)}]: {CheckedElements} elements, max rel err {MaxRelativeError:g3} {(Passed ? "ok" : "FAIL")}";
}

public sealed record GradCheckResult(bool Double, IReadOnlyList<ParameterCheck> Parameters, ModelProto GradientModel)
{
    public bool Passed => Parameters.All(p => p.Passed);
    public override string ToString() =>
        $"gradcheck ({(Double ? "float64" : "float32")}): {(Passed ? "passed" : "FAILED")}\n" + string.Join("\n", Parameters);
}

/// <summary>Checks the autodiff against central finite differences: loss = Σ_outputs Σ(output ⊙ fixed random projection),
/// its gradient graph run once in ONNX Runtime, the loss re-run with each sampled parameter element moved by ±h.</summary>
public static class GradCheck
{
    public static GradCheckResult Run(ModelProto model, IReadOnlyDictionary<string, TensorProto>? inputs = null, GradCheckOptions? options = null)
    {
        options ??= new GradCheckOptions();
        // Parameters are the model's own initializers, not the constants an import adds.
        var own = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        options = options with { Parameters = options.Parameters is null ? own : options.Parameters.Where(own.Contains).ToHashSet(StringComparer.Ordinal) };
        // Old opsets are upgraded on import: ONNX Runtime no longer runs some of their kernels.
        model = GraphBuilder.FromModel(model).ToModel();
        if (options.PreferDouble)
        {
            var asDouble = ToDouble(model);
            if (RunsInOrt(asDouble, inputs, options))
            {
                // The gradient graph may still need a kernel that has no double form (e.g. ConvTranspose).
                try { return Check(asDouble, inputs, options, true); }
                catch (OnnxRuntimeException) { }
            }
        }
        return Check(model, inputs, options, false);
    }

    private static bool RunsInOrt(ModelProto model, IReadOnlyDictionary<string, TensorProto>? inputs, GradCheckOptions options)
    {
        try
        {
            using var session = Session(model);
            using var _ = session.Run(Feeds(model, inputs, options, true));
            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false;
        }
    }

    private static GradCheckResult Check(ModelProto model, IReadOnlyDictionary<string, TensorProto>? given, GradCheckOptions options, bool useDouble)
    {
        var floatType = useDouble ? DataType.Double : DataType.Float;
        var feeds = Feeds(model, given, options, useDouble);
        // Output shapes come from a forward run: the projection must match them.
        Dictionary<string, long[]> outputDims;
        using (var session = Session(model))
        using (var results = session.Run(feeds))
            outputDims = results.Where(r => r.Value is Tensor<float> or Tensor<double>)
                .ToDictionary(r => r.Name, r => r.Value is Tensor<double> d ? d.Dimensions.ToArray().Select(x => (long)x).ToArray()
                    : ((Tensor<float>)r.Value).Dimensions.ToArray().Select(x => (long)x).ToArray());

        var rng = new Random(options.Seed);
        var g = GraphBuilder.FromModel(model);
        Value loss;
        using (g.Scope("gradcheck"))
        {
            var terms = new List<Value>();
            foreach (var output in g.Outputs.Where(o => outputDims.ContainsKey(o.Name)))
            {
                var dims = outputDims[output.Name];
                var n = (int)dims.Aggregate(1L, (p, d) => p * d);
                var projection = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
                var p = useDouble ? g.Constant(Tensors.Create("projection", projection, dims), "projection")
                    : g.Constant(Tensors.Create("projection", projection.Select(v => (float)v).ToArray(), dims), "projection");
                terms.Add(g.Node1("ReduceSum", [g.Mul(output, p)], [Attr.Int("keepdims", 0)]));
            }
            if (terms.Count == 0) throw new GraphException("the model has no floating-point output to check");
            loss = terms.Count == 1 ? terms[0] : g.Node1("Sum", terms);
        }
        var inputNames = g.Inputs.Select(i => i.Name).ToHashSet();
        var parameters = g.InitializerValues.Where(v => v.DType == floatType && options.Parameters!.Contains(v.Name))
            .Concat(options.IncludeInputs ? g.Inputs.Where(v => v.DType == floatType) : [])
            .ToList();
        if (parameters.Count == 0) throw new GraphException("the model has no floating-point parameter to check");
        var lossOut = g.AddOutput(loss, "gradcheck/loss");
        var gradients = Autodiff.Gradients.Build(g, loss, parameters, options.Gradients);
        var gradNames = parameters.ToDictionary(p => p.Name, p => g.AddOutput(gradients[p.Name], "gradcheck/d_" + p.Name).Name);
        var gradientModel = g.ToModel();

        // The analytic gradients, parameters as initializers.
        var analytic = new Dictionary<string, double[]>();
        using (var session = Session(gradientModel))
        using (var results = session.Run(feeds.Where(f => inputNames.Contains(f.Name)).ToList(), gradNames.Values.ToList()))
            foreach (var r in results) analytic[r.Name] = ToDoubles(r.Value);

        // The loss alone, with the checked initializers turned into inputs so they can be moved.
        var lossModel = gradientModel.Clone();
        lossModel.Graph.Output.Clear();
        lossModel.Graph.Output.Add(OnnxModels.ValueInfo(lossOut.Name, lossOut.DType, lossOut.Shape));
        var values = new Dictionary<string, double[]>();
        var dimsOf = new Dictionary<string, long[]>();
        foreach (var p in parameters)
        {
            var t = lossModel.Graph.Initializer.FirstOrDefault(i => i.Name == p.Name);
            if (t is not null)
            {
                lossModel.Graph.Initializer.Remove(t);
                lossModel.Graph.Input.Add(OnnxModels.ValueInfo(p.Name, p.DType, Shape.Of(t.Dims.ToArray())));
                values[p.Name] = Tensors.ToDoubles(t);
                dimsOf[p.Name] = t.Dims.ToArray();
            }
            else
            {
                var f = feeds.First(x => x.Name == p.Name);
                values[p.Name] = ToDoubles(f.Value);
                dimsOf[p.Name] = ((Tensor<double>?)(f.Value as Tensor<double>))?.Dimensions.ToArray().Select(x => (long)x).ToArray()
                    ?? ((Tensor<float>)f.Value).Dimensions.ToArray().Select(x => (long)x).ToArray();
            }
        }
        var step = options.Step ?? (useDouble ? 1e-5 : 1e-2);
        var tolerance = options.Tolerance ?? (useDouble ? 1e-4 : 1e-2);
        var numeric = new Dictionary<string, (int[] Index, double[] Value)>();
        using (var session = Session(lossModel))
        {
            var baseFeeds = feeds.Where(f => inputNames.Contains(f.Name) && !values.ContainsKey(f.Name)).ToList();
            double Loss(string moved, double[] data)
            {
                var all = new List<NamedOnnxValue>(baseFeeds);
                foreach (var (name, v) in values) all.Add(Tensor(name, name == moved ? data : v, dimsOf[name], useDouble));
                using var r = session.Run(all);
                return ToDoubles(r.First().Value)[0];
            }
            foreach (var p in parameters)
            {
                var data = (double[])values[p.Name].Clone();
                var sample = data.Length <= options.MaxElementsPerParameter
                    ? Enumerable.Range(0, data.Length).ToArray()
                    : Enumerable.Range(0, options.MaxElementsPerParameter).Select(_ => rng.Next(data.Length)).Distinct().ToArray();
                var result = new double[sample.Length];
                for (var s = 0; s < sample.Length; s++)
                {
                    var k = sample[s];
                    var original = data[k];
                    data[k] = original + step;
                    var up = Loss(p.Name, data);
                    data[k] = original - step;
                    var down = Loss(p.Name, data);
                    data[k] = original;
                    result[s] = (up - down) / (2 * step);
                }
                numeric[p.Name] = (sample, result);
            }
        }
        var scale = Math.Max(1, numeric.Values.SelectMany(v => v.Value).Select(Math.Abs).DefaultIfEmpty(0).Max());
        var floor = (useDouble ? 1e-6 : 1e-2) * scale;
        var checks = parameters.Select(p =>
        {
            var (index, num) = numeric[p.Name];
            var ana = analytic[gradNames[p.Name]];
            var worst = 0.0;
            for (var s = 0; s < index.Length; s++)
            {
                var a = ana[index[s]];
                var err = Math.Abs(a - num[s]) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(num[s])), floor);
                if (double.IsNaN(err)) err = double.PositiveInfinity;
                worst = Math.Max(worst, err);
            }
            return new ParameterCheck(p.Name, dimsOf[p.Name], index.Length, worst, tolerance);
        }).ToList();
        return new GradCheckResult(useDouble, checks, gradientModel);
    }

    private static InferenceSession Session(ModelProto model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        return new InferenceSession(model.ToByteArray(), options);
    }

    /// <summary>The model with every float32 tensor (initializers, inputs, outputs, casts, constants) made float64.</summary>
    public static ModelProto ToDouble(ModelProto model)
    {
        var m = model.Clone();
        var graph = m.Graph;
        for (var i = 0; i < graph.Initializer.Count; i++)
            if (Tensors.TypeOf(graph.Initializer[i]) == DataType.Float) graph.Initializer[i] = ToDouble(graph.Initializer[i]);
        foreach (var v in graph.Input.Concat(graph.Output))
            if (v.Type?.TensorType is { ElemType: (int)DataType.Float } t) t.ElemType = (int)DataType.Double;
        graph.ValueInfo.Clear();
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (node.OpType == "Cast" && a.Name == "to" && a.I == (long)DataType.Float) a.I = (long)DataType.Double;
                if (a.T is { } tensor && Tensors.TypeOf(tensor) == DataType.Float) a.T = ToDouble(tensor);
            }
        return m;
    }

    private static TensorProto ToDouble(TensorProto t)
    {
        var d = Tensors.Create(t.Name, Tensors.ToDoubles(t), t.Dims.ToArray());
        return d;
    }

    private static List<NamedOnnxValue> Feeds(ModelProto model, IReadOnlyDictionary<string, TensorProto>? given, GradCheckOptions options, bool useDouble)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var rng = new Random(options.Seed + 1);
        var feeds = new List<NamedOnnxValue>();
        foreach (var input in model.Graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            var type = OnnxModels.TypeOf(input) ?? throw new GraphException($"input '{input.Name}' is not a tensor");
            if (given is not null && given.TryGetValue(input.Name, out var t))
            {
                feeds.Add(FromTensor(input.Name, t, useDouble));
                continue;
            }
            if (!DataTypes.IsFloat(type.DType) || !type.Shape.IsFullyKnown)
                throw new GraphException($"input '{input.Name}' ({type}) needs a value: only static float inputs are drawn at random");
            var dims = type.Shape.ToArray();
            var data = Enumerable.Range(0, (int)dims.Aggregate(1L, (p, d) => p * d)).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            feeds.Add(Tensor(input.Name, data, dims, useDouble));
        }
        return feeds;
    }

    private static NamedOnnxValue FromTensor(string name, TensorProto t, bool useDouble)
    {
        var dims = t.Dims.Select(d => (int)d).ToArray();
        return Tensors.TypeOf(t) switch
        {
            DataType.Float or DataType.Double => Tensor(name, Tensors.ToDoubles(t), t.Dims.ToArray(), useDouble),
            DataType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(Tensors.ToLongs(t), dims)),
            DataType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(Tensors.ToLongs(t).Select(v => (int)v).ToArray(), dims)),
            DataType.Bool => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<bool>(Tensors.ToLongs(t).Select(v => v != 0).ToArray(), dims)),
            var other => throw new GraphException($"input '{name}' of {other} is not supported"),
        };
    }

    private static NamedOnnxValue Tensor(string name, double[] data, long[] dims, bool useDouble)
    {
        var d = dims.Select(x => (int)x).ToArray();
        return useDouble
            ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<double>(data, d))
            : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data.Select(v => (float)v).ToArray(), d));
    }

    private static double[] ToDoubles(object value) => value switch
    {
        Tensor<double> d => d.ToArray(),
        Tensor<float> f => f.ToArray().Select(v => (double)v).ToArray(),
        _ => throw new GraphException($"expected a floating-point tensor, got {value.GetType().Name}"),
    };
}
