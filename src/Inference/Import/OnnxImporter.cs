using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralService.Inference.Registry;
using Onnx;

namespace NeuralService.Inference.Import;

/// <summary>A model that passed every import check, as the exact bytes to store.</summary>
public sealed record PreparedModel(byte[] Bytes, ModelProto Model, Signature Signature, long Opset, IReadOnlyDictionary<string, string> Metadata);

/// <summary>Turns untrusted ONNX bytes or files into a <see cref="PreparedModel"/>: size limit, protobuf parse,
/// structural checks, external data inlined from inside the model's directory only, and one load in ONNX Runtime.</summary>
public sealed class OnnxImporter(ImportLimits? limits = null)
{
    public ImportLimits Limits { get; } = limits ?? new ImportLimits();

    public PreparedModel FromFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new InvalidModelException($"no model file at '{path}'");
        if (Limits.ImportRoot is { } root && !ExternalData.IsInside(root, info.FullName))
            throw new InvalidModelException($"'{path}' is outside the import directory");
        if (info.Length > Limits.MaxModelBytes)
            throw new ModelTooLargeException($"'{info.Name}' is {info.Length} bytes, over the {Limits.MaxModelBytes}-byte limit");
        return FromBytes(File.ReadAllBytes(info.FullName), info.DirectoryName);
    }

    /// <param name="modelDirectory">Where external data may be read from; null refuses external data.</param>
    public PreparedModel FromBytes(byte[] bytes, string? modelDirectory = null)
    {
        if (bytes.LongLength > Limits.MaxModelBytes)
            throw new ModelTooLargeException($"model is {bytes.LongLength} bytes, over the {Limits.MaxModelBytes}-byte limit");
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidModelException($"not an ONNX model (protobuf parse failed: {e.Message})", e);
        }
        ModelChecker.Check(model, Limits);
        if (ExternalData.HasExternal(model))
        {
            ExternalData.Inline(model, modelDirectory, Limits);
            if (model.CalculateSize() > Limits.MaxModelBytes)
                throw new ModelTooLargeException($"model with its external data is {model.CalculateSize()} bytes, over the {Limits.MaxModelBytes}-byte limit");
            bytes = model.ToByteArray();
        }
        TryLoad(bytes);
        return new PreparedModel(bytes, model, SignatureReader.Read(model), SignatureReader.DefaultOpset(model), SignatureReader.Metadata(model));
    }

    /// <summary>Loads the model once in ONNX Runtime (CPU, no optimisation) so a model that cannot run is refused now
    /// rather than at first request.</summary>
    private static void TryLoad(byte[] bytes)
    {
        try
        {
            using var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
                IntraOpNumThreads = 1,
                InterOpNumThreads = 1,
                // A refused model is reported through the exception; ORT's own stderr line would only duplicate it.
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
            };
            using var session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidModelException($"ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }
}
