using NeuralService.Training.Callbacks;
using NeuralService.Training.Data;

namespace NeuralService.Training;

/// <summary>Keras's <c>fit</c> arguments.</summary>
public sealed record FitOptions
{
    public int BatchSize { get; init; } = 32;
    public int Epochs { get; init; } = 1;
    /// <summary>Fraction of the training data (taken from its end, as Keras does) held out for validation.</summary>
    public double ValidationSplit { get; init; }
    public InMemoryDataset? ValidationData { get; init; }
    public bool Shuffle { get; init; } = true;
    /// <summary>Class index → weight; becomes per-sample weights.</summary>
    public IReadOnlyDictionary<int, double>? ClassWeight { get; init; }
    public int InitialEpoch { get; init; }
    public IReadOnlyList<Callback> Callbacks { get; init; } = [];
    /// <summary>0 silent, 1 progress bar, 2 one line per epoch.</summary>
    public int Verbose { get; init; } = 1;
    /// <summary>One scale for every float input, replacing the default rule of <see cref="PreprocessingContract"/> (1/255
    /// for 8-bit data, else 1); null keeps the rule. Recorded in <see cref="Trainer.Preprocessing"/> and folded into the
    /// exported model.</summary>
    public double? Rescale { get; init; }
    /// <summary>Where progress goes (stderr by default).</summary>
    public TextWriter? Output { get; init; }
}
