using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Drives a compiled train step in ONNX Runtime the way the trainer will: persistent tensors start from the
/// signature's initial values and each step's <c>.new</c> outputs become the next step's inputs.</summary>
internal sealed class TrainingLoop : IDisposable
{
    private readonly CompiledGraph _graph;
    private readonly OrtSession _session;
    private readonly Dictionary<string, float[]> _persistent;
    private long _step;

    public TrainingLoop(CompiledGraph graph)
    {
        _graph = graph;
        _session = new OrtSession(graph.Model);
        _persistent = graph.Signature.Persistent.ToDictionary(p => p.Input, p => p.Initial());
    }

    public IReadOnlyDictionary<string, float[]> Persistent => _persistent;

    /// <summary>One step on a batch; returns every float output (loss, metrics, new values).</summary>
    public Dictionary<string, float[]> Step(IEnumerable<Feed> batch, float learningRate)
    {
        var sig = _graph.Signature;
        var feeds = batch.ToList();
        if (sig.LearningRate is { } lr) feeds.Add(Feed.Scalar(lr, learningRate));
        if (sig.Step is { } step) feeds.Add(Feed.Scalar(step, _step));
        feeds.AddRange(sig.Persistent.Select(p => Feed.F(p.Input, _persistent[p.Input], p.Shape.Select(d => (int)d).ToArray())));
        var outs = _session.Run(feeds);
        foreach (var p in sig.Persistent)
            if (p.Output is not null) _persistent[p.Input] = outs[p.Output];
        _step++;
        return outs;
    }

    public void Dispose() => _session.Dispose();
}
