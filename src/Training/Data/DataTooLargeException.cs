namespace NeuralService.Training.Data;

/// <summary>A data file would expand past the bytes the reader was allowed (a gzip or zip bomb, or a header that
/// declares more than the caller accepts); nothing that size was allocated.</summary>
public sealed class DataTooLargeException(string message) : Exception(message);
