using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>A float tensor of a forward graph that training may change: an initializer (or input) of the graph.
/// Frozen ones (<see cref="Trainable"/> false) stay constants of the compiled graph.</summary>
public sealed record TrainableParameter(Value Value, bool Trainable = true, ObjectSpec? Regularizer = null)
{
    public Weight? Weight { get; init; }
}

/// <summary>Non-trainable state and its value after a training-mode forward pass (BatchNorm's moving statistics).</summary>
public sealed record StateTransition(Value Current, Value Next)
{
    public Weight? Weight { get; init; }
}

/// <summary>Appends the gradient of the scalar <paramref name="loss"/> with respect to each of <paramref name="wrt"/>;
/// returns name → gradient. <see cref="Gradients.Build"/> by default; a hand-written or provider-specific one may replace it.</summary>
public delegate IReadOnlyDictionary<string, Value> GradientBuilder(GraphBuilder g, Value loss, IReadOnlyList<Value> wrt);

/// <summary>Compiles a forward graph into a train-step graph (forward in training mode, loss, metrics, gradients,
/// optimizer update) or an eval graph (forward in inference mode, loss, metrics). Parameters, state and optimizer
/// state are graph inputs; their next values are outputs named <c>{input}.new</c>, so that the trainer can ping-pong
/// two buffer sets. Inputs come in the order: features, targets, sample_weight, lr, step, parameters, state,
/// optimizer state; outputs: loss, per-output losses (several outputs only), metrics, new parameters, new state,
/// new optimizer state.</summary>
public static class TrainingGraph
{
    public const string LossName = "loss";
    public const string SampleWeightName = "sample_weight";

    // ---- Keras models ------------------------------------------------------------------------------------------

    public static CompiledGraph Compile(Model model, LossSpec loss, OptimizerSpec optimizer, IReadOnlyList<string>? metrics = null,
        bool sampleWeight = false, int seed = 0, GradientBuilder? gradients = null) =>
        Compile(model, [loss], optimizer, metrics, sampleWeight, seed, gradients);

    /// <summary>The train step of <paramref name="model"/>: one loss per output (or one loss for all outputs), each
    /// weighted by its <see cref="LossSpec.Weight"/>; <paramref name="metrics"/> for every output, or
    /// <paramref name="outputMetrics"/> (one list per output, in output order) instead.</summary>
    public static CompiledGraph Compile(Model model, IReadOnlyList<LossSpec> losses, OptimizerSpec optimizer, IReadOnlyList<string>? metrics = null,
        bool sampleWeight = false, int seed = 0, GradientBuilder? gradients = null, bool predictionOutputs = false,
        IReadOnlyList<IReadOnlyList<string>>? outputMetrics = null)
    {
        var g = new GraphBuilder { PoolBeforeRelu = true, SmallConvolutionsAsMatMul = true, PooledConvolutionsAsMatMul = true };
        var trace = model.Trace(g, new CallContext(training: true, seed));
        var (parameters, state) = Bind(model, g, trace.StateUpdates.Select(u => u.Weight).ToHashSet(), trace.StateUpdates);
        return Compile(g, trace.Outputs, model.OutputNames, parameters, state, losses, optimizer, metrics, sampleWeight, model.Name, gradients, predictionOutputs,
            outputMetrics);
    }

    public static CompiledGraph CompileEval(Model model, LossSpec loss, IReadOnlyList<string>? metrics = null, bool sampleWeight = false) =>
        CompileEval(model, [loss], metrics, sampleWeight);

    /// <summary>The eval graph of <paramref name="model"/>: inference-mode forward, loss and metrics; parameters and
    /// state are inputs with the same names as in the train step.</summary>
    public static CompiledGraph CompileEval(Model model, IReadOnlyList<LossSpec> losses, IReadOnlyList<string>? metrics = null, bool sampleWeight = false,
        bool predictionOutputs = false, IReadOnlyList<IReadOnlyList<string>>? outputMetrics = null)
    {
        // Which weights are state is only visible in training mode.
        var stateWeights = model.Trace(new GraphBuilder(), new CallContext(training: true)).StateUpdates.Select(u => u.Weight).ToHashSet();
        var g = new GraphBuilder();
        var trace = model.Trace(g, new CallContext(training: false));
        var (parameters, state) = Bind(model, g, stateWeights, []);
        return CompileEval(g, trace.Outputs, model.OutputNames, parameters, state.Select(s => s.Current).ToList(), losses, metrics, sampleWeight, model.Name,
            predictionOutputs, outputMetrics);
    }

    /// <summary>Keras's trainability: a weight trains when it is trainable and neither its layer nor any model
    /// containing that layer is frozen.</summary>
    public static IReadOnlyDictionary<Weight, bool> Trainability(Model model)
    {
        var result = new Dictionary<Weight, bool>(ReferenceEqualityComparer.Instance);
        void Walk(Layer layer, bool parent)
        {
            var trainable = parent && layer.Trainable;
            if (layer is Model m)
                foreach (var l in m.Layers) Walk(l, trainable);
            else
                foreach (var w in layer.Weights)
                    result[w] = (result.TryGetValue(w, out var t) && t) || (trainable && w.Trainable);
        }
        Walk(model, true);
        return result;
    }

    private static (List<TrainableParameter>, List<StateTransition>) Bind(Model model, GraphBuilder g, HashSet<Weight> stateWeights,
        IReadOnlyList<StateUpdate> updates)
    {
        // Weights the trace never read (a layer off every output's path) are left out rather than made dead inputs.
        var read = g.ReadNames().ToHashSet(StringComparer.Ordinal);
        var parameters = new List<TrainableParameter>();
        foreach (var (w, trainable) in Trainability(model))
            if (!stateWeights.Contains(w) && Layer.WeightValue(g, w) is { } v && read.Contains(v.Name))
                parameters.Add(new TrainableParameter(v, trainable, w.Regularizer) { Weight = w });
        var state = new List<StateTransition>();
        var last = new Dictionary<Weight, Value>(ReferenceEqualityComparer.Instance);
        foreach (var u in updates) last[u.Weight] = u.NewValue;
        foreach (var w in stateWeights)
        {
            var current = Layer.WeightValue(g, w);
            if (!read.Contains(current.Name)) continue;
            state.Add(new StateTransition(current, last.TryGetValue(w, out var next) ? next : current) { Weight = w });
        }
        return (parameters, state);
    }

    // ---- imported graphs ---------------------------------------------------------------------------------------

    /// <summary>The float initializers of an imported graph as parameters; those <paramref name="frozen"/> selects stay constants.</summary>
    public static IReadOnlyList<TrainableParameter> ParametersOf(GraphBuilder g, Func<string, bool>? frozen = null) =>
        g.InitializerValues.Where(v => v.DType == DataType.Float && v.Shape.IsFullyKnown)
            .Select(v => new TrainableParameter(v, frozen is null || !frozen(v.Name))).ToList();

    // ---- the compiler ------------------------------------------------------------------------------------------

    /// <summary>The train step of the forward graph in <paramref name="g"/> (emitted in training mode) whose predictions are
    /// <paramref name="outputs"/>. Every graph input of g that is not a parameter or state is a feature input.</summary>
    public static CompiledGraph Compile(GraphBuilder g, IReadOnlyList<Value> outputs, IReadOnlyList<string> outputNames,
        IReadOnlyList<TrainableParameter> parameters, IReadOnlyList<StateTransition> state, IReadOnlyList<LossSpec> losses,
        OptimizerSpec optimizer, IReadOnlyList<string>? metrics = null, bool sampleWeight = false, string graphName = "train_step",
        GradientBuilder? gradients = null, bool predictionOutputs = false, IReadOnlyList<IReadOnlyList<string>>? outputMetrics = null) =>
        Build(g, outputs, outputNames, parameters, state, losses, optimizer, PerOutput(metrics, outputMetrics, outputs.Count), sampleWeight, graphName + "_train",
            gradients, predictionOutputs);

    /// <summary>The eval graph of the forward graph in <paramref name="g"/> (emitted in inference mode).</summary>
    public static CompiledGraph CompileEval(GraphBuilder g, IReadOnlyList<Value> outputs, IReadOnlyList<string> outputNames,
        IReadOnlyList<TrainableParameter> parameters, IReadOnlyList<Value> state, IReadOnlyList<LossSpec> losses,
        IReadOnlyList<string>? metrics = null, bool sampleWeight = false, string graphName = "eval", bool predictionOutputs = false,
        IReadOnlyList<IReadOnlyList<string>>? outputMetrics = null) =>
        Build(g, outputs, outputNames, parameters, state.Select(s => new StateTransition(s, s)).ToList(), losses, null,
            PerOutput(metrics, outputMetrics, outputs.Count), sampleWeight, graphName + "_eval", null, predictionOutputs);

    /// <summary>One metric list per output: <paramref name="outputMetrics"/> when given, else <paramref name="metrics"/> for every output.</summary>
    private static IReadOnlyList<IReadOnlyList<string>> PerOutput(IReadOnlyList<string>? metrics, IReadOnlyList<IReadOnlyList<string>>? outputMetrics, int outputs)
    {
        if (outputMetrics is null) return Enumerable.Repeat(metrics ?? [], outputs).ToList();
        if (metrics is { Count: > 0 }) throw new ArgumentException("give metrics for every output or per output, not both");
        if (outputMetrics.Count != outputs)
            throw new ArgumentException($"the model has {outputs} outputs but {outputMetrics.Count} per-output metric lists were given");
        return outputMetrics;
    }

    /// <summary>Keras's log name of a per-output quantity: the bare name for a one-output model, else <c>{output}_{name}</c>.</summary>
    public static string LogName(IReadOnlyList<string> outputNames, int output, string name) =>
        outputNames.Count == 1 ? name : $"{outputNames[output]}_{name}";

    private static CompiledGraph Build(GraphBuilder g, IReadOnlyList<Value> outputs, IReadOnlyList<string> outputNames,
        IReadOnlyList<TrainableParameter> parameters, IReadOnlyList<StateTransition> state, IReadOnlyList<LossSpec> losses,
        OptimizerSpec? optimizer, IReadOnlyList<IReadOnlyList<string>> metrics, bool sampleWeight, string graphName, GradientBuilder? gradients,
        bool predictionOutputs)
    {
        if (outputs.Count == 0) throw new ArgumentException("the model has no outputs to train");
        if (outputNames.Count != outputs.Count) throw new ArgumentException($"{outputs.Count} outputs but {outputNames.Count} output names");
        if (losses.Count != 1 && losses.Count != outputs.Count)
            throw new ArgumentException($"the model has {outputs.Count} outputs but {losses.Count} losses were given (one, or one per output)");
        if (losses.FirstOrDefault(l => !double.IsFinite(l.Weight) || l.Weight < 0) is { } badWeight)
            throw new ArgumentException($"loss weight {badWeight.Weight} of loss '{badWeight.Name}' must be finite and non-negative");
        if (losses.FirstOrDefault(l => l.Reduction == Reduction.None) is { } none)
            throw new ArgumentException($"loss '{none.Name}' has reduction 'none'; a training graph needs a scalar loss (sum or sum_over_batch_size)");
        var train = optimizer is not null;
        var trainable = parameters.Where(p => p.Trainable).ToList();
        var frozen = parameters.Where(p => !p.Trainable).ToList();
        var held = trainable.Select(p => p.Value.Name).Concat(state.Select(s => s.Current.Name)).ToHashSet(StringComparer.Ordinal);
        if (held.Count != trainable.Count + state.Count) throw new ArgumentException("a value is listed twice among parameters and state");
        foreach (var name in held)
            if (!g.Contains(name)) throw new GraphException($"parameter '{name}' is not a value of the graph");
        var features = g.Inputs.Where(i => !held.Contains(i.Name)).ToList();

        var inputs = features.Select(f => new TensorInfo(f.Name, f.DType, f.Shape, TensorRole.Feature)).ToList();
        var outs = new List<(Value Value, string Name, TensorRole Role, string? Log)>();
        string Free(string name) => g.Contains(name) ? g.UniqueName(name) : name;

        // Targets and weights.
        var batch = outputs[0].Rank > 0 ? outputs[0].Shape[0] : Dim.Batch;
        Value? sw = null;
        var targets = new List<Value>();
        for (var i = 0; i < outputs.Count; i++)
        {
            var spec = losses.Count == 1 ? losses[0] : losses[i];
            var y = outputs[i];
            var name = Free(outputs.Count == 1 ? "y_true" : $"y_true/{outputNames[i]}");
            targets.Add(spec.SparseLabels
                ? g.AddInput(name, DataType.Int64, y.Shape.Take(Math.Max(0, y.Rank - 1)))
                : g.AddInput(name, DataType.Float, y.Shape));
            inputs.Add(new TensorInfo(targets[^1].Name, targets[^1].DType, targets[^1].Shape, TensorRole.Target));
        }
        if (sampleWeight)
        {
            sw = g.AddInput(Free(SampleWeightName), DataType.Float, Shape.Of(batch));
            inputs.Add(new TensorInfo(sw.Name, sw.DType, sw.Shape, TensorRole.SampleWeight));
        }

        // Loss: Σ loss_weight·loss per output, plus the regularization of trainable weights.
        Value total;
        var metricOutputs = new List<string>();
        var predictionNames = new List<string>();
        using (g.Scope("loss"))
        {
            var terms = new List<Value>();
            for (var i = 0; i < outputs.Count; i++)
            {
                var spec = losses.Count == 1 ? losses[0] : losses[i];
                var l = Losses.Build(g, spec, targets[i], outputs[i], sw);
                // Keras logs each output's own loss, before its loss weight.
                if (outputs.Count > 1) outs.Add((l, $"{outputNames[i]}/loss", TensorRole.Loss, LogName(outputNames, i, "loss")));
                terms.Add(spec.Weight == 1 ? l : g.Mul(l, g.F(spec.Weight, "loss_weight")));
            }
            total = terms.Skip(1).Aggregate(terms[0], (a, b) => g.Add(a, b));
            if (Regularizers.Total(g, trainable.Where(p => p.Regularizer is not null).Select(p => (p.Regularizer!, p.Value))) is { } reg)
                total = g.Add(total, reg);
        }
        using (g.Scope("metrics"))
            for (var i = 0; i < outputs.Count; i++)
                foreach (var m in metrics[i])
                {
                    var spec = losses.Count == 1 ? losses[0] : losses[i];
                    outs.Add((Metrics.Build(g, m, spec, targets[i], outputs[i]), outputs.Count == 1 ? m : $"{outputNames[i]}/{m}", TensorRole.Metric,
                        LogName(outputNames, i, m)));
                }
        // The model's own outputs, for metrics computed on the host (precision, AUC…).
        if (predictionOutputs)
            for (var i = 0; i < outputs.Count; i++) outs.Add((outputs[i], $"{outputNames[i]}/prediction", TensorRole.Prediction, null));

        var paramTensors = trainable.Select(p => Persistent(g, p.Value, p.Weight, TensorRole.Parameter, train)).ToList();
        var stateTensors = state.Select(s => Persistent(g, s.Current, s.Weight, TensorRole.State, train)).ToList();
        var optimizerTensors = new List<PersistentTensor>();
        if (train)
        {
            var (lr, step) = OptimizerGraph.AddStepInputs(g, Free("lr"), Free("step"));
            inputs.Add(new TensorInfo(lr.Name, lr.DType, lr.Shape, TensorRole.LearningRate));
            inputs.Add(new TensorInfo(step.Name, step.DType, step.Shape, TensorRole.Step));
            var wrt = trainable.Select(p => p.Value).ToList();
            var grads = (gradients ?? Gradients.Build)(g, total, wrt);
            var missing = wrt.FirstOrDefault(p => !grads.ContainsKey(p.Name));
            if (missing is not null) throw new GraphException($"the gradient builder gave no gradient for parameter '{missing.Name}'");
            var update = OptimizerGraph.Emit(g, optimizer!, wrt, wrt.Select(p => grads[p.Name]).ToList(), lr, step);
            for (var i = 0; i < wrt.Count; i++) outs.Add((update.NewParameters[i], OptimizerGraph.NewName(wrt[i].Name), TensorRole.Parameter, null));
            foreach (var s in state) outs.Add((s.Next, OptimizerGraph.NewName(s.Current.Name), TensorRole.State, null));
            foreach (var s in update.State)
            {
                outs.Add((s.NewValue, s.Output, TensorRole.OptimizerState, null));
                var fill = (float)s.Initial;
                var count = (int)s.Shape.Aggregate(1L, (p, d) => p * d);
                optimizerTensors.Add(new PersistentTensor(s.Input, s.Output, s.Shape, TensorRole.OptimizerState, () => Enumerable.Repeat(fill, count).ToArray())
                    { Parameter = s.Parameter, Slot = s.Slot, Fill = fill });
            }
        }

        var lossOut = g.AddOutput(total, Free(LossName));
        var outputInfos = new List<TensorInfo> { new(lossOut.Name, lossOut.DType, lossOut.Shape, TensorRole.Loss) };
        var logNames = new Dictionary<string, string>(StringComparer.Ordinal) { [lossOut.Name] = LossName };
        foreach (var (v, name, role, log) in outs)
        {
            var o = g.AddOutput(v, Free(name));
            outputInfos.Add(new TensorInfo(o.Name, o.DType, o.Shape, role));
            if (log is not null) logNames[o.Name] = log;
            if (role == TensorRole.Metric) metricOutputs.Add(o.Name);
            if (role == TensorRole.Prediction) predictionNames.Add(o.Name);
        }

        var optimizerInputs = optimizerTensors.Select(t => g[t.Input]).Select(v => new TensorInfo(v.Name, v.DType, v.Shape, TensorRole.OptimizerState));
        inputs.AddRange(trainable.Select(p => new TensorInfo(p.Value.Name, p.Value.DType, p.Value.Shape, TensorRole.Parameter)));
        inputs.AddRange(state.Select(s => new TensorInfo(s.Current.Name, s.Current.DType, s.Current.Shape, TensorRole.State)));
        inputs.AddRange(optimizerInputs);

        var model = g.ToModel(graphName);
        ReorderInputs(model, inputs, held);
        var signature = new TrainingSignature
        {
            Inputs = inputs,
            Outputs = outputInfos,
            Parameters = paramTensors,
            State = stateTensors,
            OptimizerState = optimizerTensors,
            Frozen = frozen.Select(p => p.Value.Name).Where(n => model.Graph.Initializer.Any(t => t.Name == n)).ToList(),
            LossOutput = lossOut.Name,
            MetricOutputs = metricOutputs,
            PredictionOutputs = predictionNames,
            LogNames = logNames,
        };
        return new CompiledGraph(model, signature);
    }

    private static PersistentTensor Persistent(GraphBuilder g, Value v, Weight? weight, TensorRole role, bool train)
    {
        var constant = g.ConstantValue(v.Name);
        Func<float[]> initial = weight is not null ? () => (float[])weight.Data.Clone()
            : constant is not null ? () => Tensors.ToFloats(constant)
            : () => throw new InvalidOperationException($"'{v.Name}' is a graph input of the forward graph: it has no initial value");
        return new PersistentTensor(v.Name, train ? OptimizerGraph.NewName(v.Name) : null, v.Shape.ToArray(), role, initial) { Weight = weight };
    }

    /// <summary>Parameters and state leave the initializers for the inputs, and the inputs take the signature's order.</summary>
    private static void ReorderInputs(global::Onnx.ModelProto model, IReadOnlyList<TensorInfo> inputs, HashSet<string> held)
    {
        var graph = model.Graph;
        var keep = graph.Initializer.Where(t => !held.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
        graph.Input.Clear();
        graph.Input.AddRange(inputs.Select(i => OnnxModels.ValueInfo(i.Name, i.DType, i.Shape)));
    }
}
