namespace NeuralService.Training.Data;

/// <summary>One mini-batch: features [n, ...], optional labels [n, ...] and optional per-sample weights [n].</summary>
public sealed record Batch(DataArray Features, DataArray? Labels = null, float[]? SampleWeights = null)
{
    public int Count => Features.Count;
}
