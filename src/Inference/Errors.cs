namespace NeuralService.Inference;

/// <summary>Base of the errors a caller caused or can act on; a REST layer maps <see cref="Kind"/> to a status code.</summary>
public abstract class InferenceServiceException(string message, Exception? inner = null) : Exception(message, inner)
{
    public abstract ErrorKind Kind { get; }
}

/// <summary>How an error maps onto HTTP: NotFound 404, Invalid 400/422, Conflict 409, Overloaded 429, TooLarge 413.</summary>
public enum ErrorKind { NotFound, Invalid, Conflict, Overloaded, TooLarge }

public sealed class ModelNotFoundException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.NotFound;
}

/// <summary>A model file or registry request that cannot be accepted (bad name, bad protobuf, unsafe paths…).</summary>
public sealed class InvalidModelException(string message, Exception? inner = null) : InferenceServiceException(message, inner)
{
    public override ErrorKind Kind => ErrorKind.Invalid;
}

public sealed class ModelTooLargeException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.TooLarge;
}

/// <summary>The request conflicts with registry state, e.g. deleting a version that an alias points at.</summary>
public sealed class RegistryConflictException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.Conflict;
}

/// <summary>Inference inputs that do not match the model's signature.</summary>
public sealed class InvalidInputException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.Invalid;
}

/// <summary>The model's request queue is full; clients should retry later (429).</summary>
public sealed class OverloadedException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.Overloaded;
}

/// <summary>ONNX Runtime failed while running a valid request (e.g. an index input out of range); 422 when the
/// values are at fault, which is what it nearly always is for a model that loaded and warmed up.</summary>
public sealed class ModelExecutionException(string message, Exception? inner = null) : InferenceServiceException(message, inner)
{
    public override ErrorKind Kind => ErrorKind.Invalid;
}

/// <summary>A model needs more memory than one model may take (estimated from its graph, or measured at load); 422,
/// as the file is well-formed but cannot be served here.</summary>
public sealed class ModelMemoryException(string message) : InferenceServiceException(message)
{
    public override ErrorKind Kind => ErrorKind.Invalid;
}
