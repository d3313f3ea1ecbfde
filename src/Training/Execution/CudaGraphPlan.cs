using System.Globalization;

namespace NeuralService.Training.Execution;

/// <summary>Which captured CUDA graph a step run replays. A graph bakes in the addresses and shapes of everything it
/// touches, so there is one per A/B binding (ids 1 and 2: ONNX Runtime reserves 0 for its own default), captured for
/// the first batch shape the session runs. A run with another shape — the last partial batch of an epoch — sets
/// <c>gpu_graph_id</c> to −1: ONNX Runtime then neither captures nor replays, and runs that step node by node on its
/// own buffers, leaving the captured graphs and their buffers untouched for the next full batch.</summary>
public sealed class CudaGraphPlan(bool enabled)
{
    /// <summary>The run option ONNX Runtime's CUDA provider reads (<c>kOrtRunOptionsConfigCudaGraphAnnotation</c>).</summary>
    public const string RunConfigKey = "gpu_graph_id";
    public const string Skip = "-1";

    private string? _captured;

    public bool Enabled => enabled;

    /// <summary>The batch shape the graphs are (or will be) captured for; null before the first run.</summary>
    public string? CapturedShape => _captured;

    /// <summary>The <c>gpu_graph_id</c> of a run through binding <paramref name="set"/> with batch shape
    /// <paramref name="shape"/>; null when graphs are off (the run sets no id).</summary>
    public string? GraphId(int set, string shape)
    {
        if (set is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(set), set, "a step reads set 0 or 1");
        if (!enabled) return null;
        _captured ??= shape;
        return shape == _captured ? (set + 1).ToString(CultureInfo.InvariantCulture) : Skip;
    }
}
