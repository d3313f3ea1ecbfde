using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Training;
using NeuralService.Training.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Cli.Commands;

/// <summary>What <c>neural predict</c> needs of a model, wherever it runs: its inputs (for loading data), its outputs and
/// how to read them (classifier or values, class names), and one call on a batch. The preprocessing contract decides
/// the input values: a model whose graph folds the scale takes the raw values; an older model recorded its scale
/// without folding it, and its caller scales (<see cref="Prepare"/>).</summary>
internal abstract class Predictor : IDisposable
{
    public abstract IReadOnlyList<FeatureInput> Inputs { get; }
    public abstract IReadOnlyList<string> OutputNames { get; }
    /// <summary>The classes of a one-row class-score output ([batch, C]; C = 1 for one sigmoid unit), null for values.</summary>
    public abstract IReadOnlyList<int?> ClassCounts { get; }
    public abstract PreprocessingContract? Contract { get; }
    /// <summary>The batch size the model's first input fixes (Keras's stateful models), if any.</summary>
    public abstract int? FixedBatch { get; }
    /// <summary>Rows per call.</summary>
    public virtual int Chunk => 256;

    /// <summary>One flat float array per output, in <see cref="OutputNames"/> order.</summary>
    public abstract IReadOnlyList<float[]> Run(IReadOnlyList<DataArray> inputs);

    public IReadOnlyList<string>? ClassNames(int output) =>
        Contract?.Outputs.GetValueOrDefault(OutputNames[output])?.ClassNames;

    /// <summary>The values the model is fed: raw, or scaled here for a model that does not fold its scale.</summary>
    protected DataArray Prepare(int input, DataArray x) =>
        Contract is { Folded: false } c && Inputs[input].DType == DataType.Float
            ? DataArray.Create(c.Apply(Inputs[input].Name, x), [x.Count, .. x.SampleShape])
            : x;

    /// <summary>Classifier outputs by the contract when it says, else by the Keras config (older files), else none.</summary>
    protected static IReadOnlyList<int?> Classes(IReadOnlyList<string> outputs, IReadOnlyList<long?> widths, PreprocessingContract? contract, Model? keras) =>
        outputs.Select((o, i) =>
        {
            bool classifier;
            // A contract written before outputs were described (Folded false) knows only class names.
            if (contract is { Folded: true } && contract.Outputs.TryGetValue(o, out var labels)) classifier = labels.Classifier;
            else if (keras is not null && i < keras.Outputs.Count) classifier = DataSources.IsClassifier(keras, i);
            else classifier = false;
            return classifier && widths[i] is { } w ? (int?)w : null;
        }).ToList();

    public virtual void Dispose() { }

    /// <summary>An ONNX file (a directory written by <c>neural train</c> stands for its <c>model.onnx</c>).</summary>
    public static Predictor Open(string path)
    {
        string onnxPath;
        Model? keras = null;
        if (Directory.Exists(path))
        {
            onnxPath = Path.Combine(path, "model.onnx");
            if (!File.Exists(onnxPath)) throw new FileNotFoundException($"'{path}' has no model.onnx (is this a directory written by neural train?)", onnxPath);
            var json = Path.Combine(path, "model.json");
            if (File.Exists(json)) keras = KerasModelJson.ReadFile(json);
        }
        else if (File.Exists(path)) onnxPath = path;
        else throw new FileNotFoundException($"'{path}' is neither an .onnx file nor a directory written by neural train", path);
        return new OnnxFilePredictor(onnxPath, keras);
    }

    internal static Model? KerasFromMetadata(IReadOnlyDictionary<string, string> meta)
    {
        if (!meta.TryGetValue("keras_config", out var json)) return null;
        try { return KerasModelJson.Read(json); }
        catch (Exception e) when (e is ArgumentException or JsonException or InvalidDataException or NotSupportedException) { return null; }
    }
}

/// <summary>A local ONNX file run in ONNX Runtime.</summary>
internal sealed class OnnxFilePredictor : Predictor
{
    private readonly InferenceSession _session;
    private readonly IReadOnlyList<int?> _classes;

    public OnnxFilePredictor(string path, Model? keras)
    {
        var proto = OnnxModels.Load(path);
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Contract = PreprocessingContract.FromOnnx(proto);
        keras ??= KerasFromMetadata(meta);
        // Inputs with a default (initializer) are a stateful model's carried states, fed by nobody here.
        var initializers = proto.Graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var features = proto.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        Inputs = features.Select(i =>
        {
            var t = i.Type.TensorType;
            var dims = t.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue : (long?)null).ToList() ?? [];
            return new FeatureInput(i.Name, t.ElemType == (int)DataType.Float ? DataType.Float : DataType.Int64, dims.Skip(1).ToList());
        }).ToList();
        var first = features.FirstOrDefault()?.Type.TensorType.Shape?.Dim;
        FixedBatch = first is { Count: > 0 } && first[0].HasDimValue ? (int)first[0].DimValue : null;
        var stateOutputs = initializers.Select(n => n + "/new").ToHashSet(StringComparer.Ordinal);
        var outputs = proto.Graph.Output.Where(o => !stateOutputs.Contains(o.Name)).ToList();
        OutputNames = outputs.Select(o => o.Name).ToList();
        var widths = outputs.Select(o => o.Type.TensorType.Shape?.Dim is { Count: 2 } d && d[1].HasDimValue ? d[1].DimValue : (long?)null).ToList();
        _classes = Classes(OutputNames, widths, Contract, keras);
        _session = new InferenceSession(path);
    }

    public override IReadOnlyList<FeatureInput> Inputs { get; }
    public override IReadOnlyList<string> OutputNames { get; }
    public override IReadOnlyList<int?> ClassCounts => _classes;
    public override PreprocessingContract? Contract { get; }
    public override int? FixedBatch { get; }

    public override IReadOnlyList<float[]> Run(IReadOnlyList<DataArray> inputs)
    {
        var feeds = Inputs.Select((input, i) =>
        {
            var part = Prepare(i, inputs[i]);
            int[] dims = [part.Count, .. part.SampleShape];
            return input.DType == DataType.Int64
                ? NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<long>(part.ToInt64(), dims))
                : NamedOnnxValue.CreateFromTensor(input.Name, new DenseTensor<float>(part.ToFloat32(), dims));
        }).ToList();
        using var results = _session.Run(feeds, OutputNames);
        return OutputNames.Select(o => results.First(r => r.Name == o).AsTensor<float>().ToArray()).ToList();
    }

    public override void Dispose() => _session.Dispose();
}

/// <summary>A registry model served by NeuralService: its signature and preprocessing from
/// <c>GET /v1/models/{name}/versions/{v}</c>, predictions from the KServe v2 <c>…/versions/{n}/infer</c> of the version
/// that answered (so an alias that moves mid-run does not mix versions).</summary>
internal sealed class HttpPredictor : Predictor
{
    private readonly HttpClient _http;
    private readonly string _model;
    private readonly IReadOnlyList<int?> _classes;
    private readonly IReadOnlyList<string> _datatypes;

    public HttpPredictor(string server, string model, string? apiKey, HttpMessageHandler? handler = null)
    {
        if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--server '{server}' is not an http(s) URL, e.g. http://127.0.0.1:8080");
        var colon = model.LastIndexOf(':');
        _model = colon > 0 ? model[..colon] : model;
        var version = colon > 0 ? model[(colon + 1)..] : "latest";
        if (_model.Length == 0 || version.Length == 0) throw new ArgumentException($"--model '{model}' is not name[:version|alias]");
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = baseUri;
        _http.Timeout = TimeSpan.FromMinutes(5);
        if (!string.IsNullOrEmpty(apiKey)) _http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        var info = Send(new HttpRequestMessage(HttpMethod.Get, $"v1/models/{Uri.EscapeDataString(_model)}/versions/{Uri.EscapeDataString(version)}"));
        Version = info["version"]!.GetValue<int>();
        var meta = info["metadata"] is JsonObject m ? m.ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>() ?? "") : [];
        var inputs = info["inputs"]!.AsArray();
        var outputs = info["outputs"]!.AsArray();
        Inputs = inputs.Select(i => new FeatureInput(i!["name"]!.GetValue<string>(),
            i["datatype"]!.GetValue<string>() == "FP32" ? DataType.Float : DataType.Int64, Dims(i).Skip(1).ToList())).ToList();
        _datatypes = inputs.Select(i => i!["datatype"]!.GetValue<string>() is "FP32" ? "FP32" : "INT64").ToList();
        FixedBatch = inputs.Count > 0 && Dims(inputs[0]!) is [{ } b, ..] ? (int)b : null;
        OutputNames = outputs.Select(o => o!["name"]!.GetValue<string>()).ToList();
        Contract = PreprocessingContract.FromMetadata(meta, Inputs.Select(i => i.Name).ToList(), OutputNames);
        _classes = Classes(OutputNames, outputs.Select(o => Dims(o!) is [_, { } w] ? w : (long?)null).ToList(), Contract, KerasFromMetadata(meta));
    }

    private static List<long?> Dims(JsonNode tensor) =>
        tensor["shape"] is JsonArray a ? a.Select(d => d!.GetValue<long>() is var v && v >= 0 ? v : (long?)null).ToList() : [];

    /// <summary>The registry version that answered (an alias or <c>latest</c> resolved).</summary>
    public int Version { get; }
    public override IReadOnlyList<FeatureInput> Inputs { get; }
    public override IReadOnlyList<string> OutputNames { get; }
    public override IReadOnlyList<int?> ClassCounts => _classes;
    public override PreprocessingContract? Contract { get; }
    public override int? FixedBatch { get; }
    public override int Chunk => 64;

    public override IReadOnlyList<float[]> Run(IReadOnlyList<DataArray> inputs)
    {
        var tensors = new JsonArray();
        for (var i = 0; i < Inputs.Count; i++)
        {
            var part = Prepare(i, inputs[i]);
            var data = _datatypes[i] == "FP32"
                ? new JsonArray(part.ToFloat32().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray())
                : new JsonArray(part.ToInt64().Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
            tensors.Add(new JsonObject
            {
                ["name"] = Inputs[i].Name,
                ["shape"] = new JsonArray(new[] { part.Count }.Concat(part.SampleShape).Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["datatype"] = _datatypes[i],
                ["data"] = data,
            });
        }
        var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{Uri.EscapeDataString(_model)}/versions/{Version.ToString(CultureInfo.InvariantCulture)}/infer")
        {
            Content = new StringContent(new JsonObject { ["inputs"] = tensors }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        var answer = Send(request)["outputs"]!.AsArray();
        return OutputNames.Select(o =>
        {
            var output = answer.FirstOrDefault(a => a!["name"]!.GetValue<string>() == o)
                ?? throw new InvalidDataException($"the server's answer has no output '{o}'");
            return output["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        }).ToList();
    }

    private JsonObject Send(HttpRequestMessage request)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        string body;
        try
        {
            response = _http.Send(request);
            using var reader = new StreamReader(response.Content.ReadAsStream());
            body = reader.ReadToEnd();
        }
        catch (HttpRequestException e) { throw new IOException($"cannot reach {_http.BaseAddress}: {e.Message}", e); }
        catch (TaskCanceledException e) { throw new IOException($"{_http.BaseAddress} did not answer in {_http.Timeout.TotalSeconds} s", e); }
        using (response)
        {
            JsonNode? json = null;
            try { json = JsonNode.Parse(body); }
            catch (JsonException) { }
            if (!response.IsSuccessStatusCode)
            {
                var detail = json?["detail"]?.GetValue<string>() ?? json?["title"]?.GetValue<string>() ?? body;
                var hint = (int)response.StatusCode is 401 or 403 ? " (pass --api-key or set NEURAL_API_KEY)" : "";
                throw new InvalidDataException($"{request.Method} {request.RequestUri}: {(int)response.StatusCode} {detail}{hint}");
            }
            return json as JsonObject ?? throw new InvalidDataException($"{request.RequestUri} answered something other than a JSON object");
        }
    }

    public override void Dispose() => _http.Dispose();
}
