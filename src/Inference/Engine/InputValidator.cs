using NeuralService.Graph.Onnx;
using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Engine;

/// <summary>Checks request tensors against a version's signature (names, element types, ranks, fixed dims) and
/// returns them in signature order. Every message names the input and the expectation.</summary>
public static class InputValidator
{
    public static IReadOnlyList<NamedTensor> Validate(Signature signature, IReadOnlyList<NamedTensor> inputs)
    {
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (var t in inputs)
            if (!byName.TryAdd(t.Name, t)) throw new InvalidInputException($"input '{t.Name}' is given twice");
        var expected = signature.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = byName.Keys.Where(n => !expected.Contains(n)).Order().ToList();
        if (unknown.Count > 0)
            throw new InvalidInputException($"unknown input(s) {string.Join(", ", unknown.Select(n => $"'{n}'"))}; the model takes {Names(signature)}");
        var ordered = new List<NamedTensor>(signature.Inputs.Count);
        foreach (var spec in signature.Inputs)
        {
            if (!byName.TryGetValue(spec.Name, out var t))
                throw new InvalidInputException($"missing input '{spec.Name}' ({spec}); the model takes {Names(signature)}");
            var given = DataTypes.ToName(t.ElementType);
            if (given != spec.ElementType)
                throw new InvalidInputException($"input '{spec.Name}' must be {spec.ElementType}, got {given}");
            if (spec.Shape is { } shape)
            {
                if (t.Dims.Length != shape.Count)
                    throw new InvalidInputException($"input '{spec.Name}' must have rank {shape.Count} ({spec}), got [{string.Join(",", t.Dims)}]");
                for (var d = 0; d < shape.Count; d++)
                    if (shape[d].Size is { } size && t.Dims[d] != size)
                        throw new InvalidInputException($"input '{spec.Name}' dimension {d} must be {size} ({spec}), got [{string.Join(",", t.Dims)}]");
            }
            ordered.Add(t);
        }
        return ordered;
    }

    private static string Names(Signature s) => string.Join(", ", s.Inputs.Select(i => i.ToString()));
}
