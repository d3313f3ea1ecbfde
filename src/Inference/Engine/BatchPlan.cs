using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Engine;

/// <summary>How a version's requests may be combined, read from its signature.</summary>
public enum BatchMode
{
    /// <summary>Every input and output leads with the same free (symbolic or unknown) dim: requests are concatenated.</summary>
    Concatenate,
    /// <summary>Every input leads with a fixed dim of 1: requests run one by one.</summary>
    FixedBatchOfOne,
    /// <summary>No usable batch dim (scalars, fixed sizes, undeclared shapes): requests run one by one.</summary>
    Single,
}

public static class BatchPlan
{
    public static BatchMode ModeOf(Signature signature)
    {
        if (signature.Inputs.Count == 0 || signature.Outputs.Count == 0) return BatchMode.Single;
        if (signature.Inputs.Any(i => i.Shape is null || i.Shape.Count == 0)) return BatchMode.Single;
        if (signature.Inputs.All(i => i.Shape![0].Size == 1)) return BatchMode.FixedBatchOfOne;
        var leads = signature.Inputs.Select(i => i.Shape![0]).ToList();
        if (leads.Any(d => d.Size is not null)) return BatchMode.Single;
        // Inputs with different symbols (e.g. "N" and "M") are not known to be the same batch.
        var symbols = leads.Select(d => d.Symbol).Where(s => s is not null).Distinct().ToList();
        if (symbols.Count > 1) return BatchMode.Single;
        foreach (var o in signature.Outputs)
        {
            if (o.Shape is null || o.Shape.Count == 0 || o.Shape[0].Size is not null) return BatchMode.Single;
            if (o.Shape[0].Symbol is { } s && symbols.Count == 1 && s != symbols[0]) return BatchMode.Single;
        }
        return BatchMode.Concatenate;
    }
}
