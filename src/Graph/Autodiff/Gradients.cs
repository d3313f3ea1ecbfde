using NeuralService.Graph.Core;

namespace NeuralService.Graph.Autodiff;

/// <summary>Reverse-mode differentiation of a scalar into the same graph, from the ops' gradient rules.</summary>
public static class Gradients
{
    /// <summary>Appends to g the gradient of the scalar <paramref name="loss"/> with respect to each value in
    /// <paramref name="wrt"/> (initializers or inputs of g); returns wrt[i].Name -> gradient Value (same shape as wrt[i]).</summary>
    public static IReadOnlyDictionary<string, Value> Build(GraphBuilder g, Value loss, IReadOnlyList<Value> wrt) =>
        throw new NotImplementedException("autodiff lands in its own branch");
}
