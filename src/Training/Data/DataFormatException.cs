namespace NeuralService.Training.Data;

/// <summary>A data file is malformed or unsupported; the message names the file and, where it applies, the line.</summary>
public sealed class DataFormatException : Exception
{
    public DataFormatException(string message) : base(message) { }

    public DataFormatException(string message, Exception inner) : base(message, inner) { }

    public static DataFormatException At(string file, long line, string what) =>
        new($"{file}:{line}: {what}");
}
