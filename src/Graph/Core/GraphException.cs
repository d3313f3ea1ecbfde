namespace NeuralService.Graph.Core;

/// <summary>A model, layer or graph is invalid; the message names the place.</summary>
public class GraphException : Exception
{
    public GraphException(string message) : base(message) { }
    public GraphException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A shape or dtype does not fit an op or layer.</summary>
public sealed class ShapeException : GraphException
{
    public ShapeException(string message) : base(message) { }
}
