using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Kserve;

/// <summary>A parsed Open Inference Protocol request: input tensors, which outputs to return and how.</summary>
public sealed record InferRequest(string? Id, IReadOnlyList<NamedTensor> Inputs, IReadOnlyList<(string Name, bool Binary)>? Outputs, bool BinaryByDefault);

/// <summary>The Open Inference Protocol (KServe v2) REST body, JSON and the binary tensor data extension: a JSON header
/// of <c>Inference-Header-Content-Length</c> bytes followed by raw little-endian tensors, each input's share given
/// by its <c>binary_data_size</c> parameter, in input order.</summary>
public static class InferCodec
{
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";
    /// <summary>Most elements one request may declare, checked before anything is allocated.</summary>
    public const long MaxElements = 1L << 28;

    // The protocol's members; anything else is a typo the client should hear about. Only the "parameters" objects are
    // open, as the protocol lets clients and servers put their own keys there.
    private static readonly string[] RequestFields = ["id", "parameters", "inputs", "outputs"];
    private static readonly string[] InputFields = ["name", "shape", "datatype", "parameters", "data"];
    private static readonly string[] OutputFields = ["name", "parameters"];

    public static InferRequest Parse(byte[] body, long? headerLength)
    {
        if (headerLength is { } h && (h < 0 || h > body.Length))
            throw ApiException.BadRequest($"{HeaderLengthHeader} is {h} but the body has {body.Length} bytes");
        var jsonLength = (int)(headerLength ?? body.Length);
        using var doc = JsonDocument.Parse(body.AsMemory(0, jsonLength));
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("the request body must be a JSON object");
        StrictJson.CheckFields(root, "", RequestFields);
        if (root.TryGetProperty("id", out var idValue) && idValue.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            throw ApiException.BadRequest($"'id' must be a string, got {idValue.ValueKind.ToString().ToLowerInvariant()}");
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest("the request needs an 'inputs' array");
        var binary = body.AsMemory(jsonLength);
        var offset = 0;
        var tensors = new List<NamedTensor>();
        var index = 0;
        foreach (var input in inputs.EnumerateArray())
        {
            StrictJson.CheckFields(input, $"inputs[{index++}]", InputFields);
            var name = String(input, "name", "input");
            var what = $"input '{name}'";
            var dtypeName = String(input, "datatype", what);
            var dtype = KserveTypes.ToOnnx(dtypeName)
                ?? throw ApiException.BadRequest($"{what}: unknown datatype '{dtypeName}' (one of {string.Join(", ", KserveTypes.Names)})");
            var shape = Shape(input, what);
            var count = shape.Aggregate(1L, (p, d) => p * d);
            if (input.TryGetProperty("parameters", out var p) && p.ValueKind == JsonValueKind.Object && p.TryGetProperty("binary_data_size", out var sizeEl))
            {
                // TryGetInt64 throws on a string, null or bool: the kind is checked first so those are a 400, not a 500.
                if (sizeEl.ValueKind != JsonValueKind.Number || !sizeEl.TryGetInt64(out var size) || size < 0)
                    throw ApiException.BadRequest($"{what}: binary_data_size {sizeEl.GetRawText()} is not a non-negative integer");
                if (size > binary.Length - offset)
                    throw ApiException.BadRequest($"{what}: binary_data_size {sizeEl.GetRawText()} exceeds the {binary.Length - offset} binary bytes left");
                var chunk = binary.Slice(offset, (int)size).ToArray();
                offset += (int)size;
                tensors.Add(dtype == DataType.String
                    ? new NamedTensor(name, dtype, shape, strings: ReadBinaryStrings(chunk, what))
                    : new NamedTensor(name, dtype, shape, chunk));
                continue;
            }
            if (!input.TryGetProperty("data", out var data)) throw ApiException.BadRequest($"{what} needs 'data' or a binary_data_size parameter");
            var (leaves, _) = TensorJson.Flatten(data, what);
            if (leaves.Count != count)
                throw ApiException.BadRequest($"{what}: {leaves.Count} values do not fill shape [{string.Join(",", shape)}] ({count})");
            tensors.Add(dtype == DataType.String
                ? new NamedTensor(name, dtype, shape, strings: leaves.Select(l => l.ValueKind == JsonValueKind.String ? l.GetString()! : throw ApiException.BadRequest($"{what}: BYTES values must be strings")).ToArray())
                : new NamedTensor(name, dtype, shape, TensorJson.ToBytes(leaves, dtype, what)));
        }
        if (offset != binary.Length) throw ApiException.BadRequest($"{binary.Length - offset} binary bytes after the JSON header belong to no input");

        var binaryDefault = root.TryGetProperty("parameters", out var rp) && rp.ValueKind == JsonValueKind.Object
            && rp.TryGetProperty("binary_data_output", out var bdo) && bdo.ValueKind == JsonValueKind.True;
        List<(string, bool)>? outputs = null;
        if (root.TryGetProperty("outputs", out var outs) && outs.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
            throw ApiException.BadRequest($"'outputs' must be an array of {{\"name\": ...}} objects, got {outs.ValueKind.ToString().ToLowerInvariant()}");
        if (outs.ValueKind == JsonValueKind.Array)
        {
            outputs = [];
            var at = 0;
            foreach (var o in outs.EnumerateArray())
            {
                StrictJson.CheckFields(o, $"outputs[{at++}]", OutputFields);
                var name = String(o, "name", "output");
                var bin = o.TryGetProperty("parameters", out var op) && op.ValueKind == JsonValueKind.Object
                    && op.TryGetProperty("binary_data", out var bd) ? bd.ValueKind == JsonValueKind.True : binaryDefault;
                outputs.Add((name, bin));
            }
        }
        var id = root.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String ? idEl.GetString() : null;
        return new InferRequest(id, tensors, outputs, binaryDefault);
    }

    private static string String(JsonElement e, string property, string what) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String && p.GetString() is { Length: > 0 } s
            ? s : throw ApiException.BadRequest($"{what} needs a string '{property}'");

    private static long[] Shape(JsonElement input, string what)
    {
        if (!input.TryGetProperty("shape", out var s) || s.ValueKind != JsonValueKind.Array)
            throw ApiException.BadRequest($"{what} needs a 'shape' array");
        var dims = new long[s.GetArrayLength()];
        var i = 0;
        var total = 1.0;
        foreach (var d in s.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var v) || v < 0) throw ApiException.BadRequest($"{what}: shape entry {d.GetRawText()} is not a non-negative integer");
            total *= v;
            dims[i++] = v;
        }
        if (total > MaxElements) throw ApiException.TooLarge($"{what}: shape [{string.Join(",", dims)}] has more than {MaxElements} elements");
        return dims;
    }

    private static string[] ReadBinaryStrings(byte[] chunk, string what)
    {
        var list = new List<string>();
        for (var o = 0; o < chunk.Length;)
        {
            if (o + 4 > chunk.Length) throw ApiException.BadRequest($"{what}: truncated BYTES length prefix");
            var n = BinaryPrimitives.ReadInt32LittleEndian(chunk.AsSpan(o));
            o += 4;
            if (n < 0 || o + n > chunk.Length) throw ApiException.BadRequest($"{what}: BYTES element of {n} bytes overruns the data");
            list.Add(Encoding.UTF8.GetString(chunk, o, n));
            o += n;
        }
        return list.ToArray();
    }

    /// <summary>The response body; <c>headerLength</c> is set when binary outputs follow the JSON.</summary>
    public static (byte[] Body, int? HeaderLength) Write(ModelVersion version, InferRequest request, IReadOnlyList<NamedTensor> results)
    {
        var wanted = request.Outputs ?? results.Select(r => (r.Name, request.BinaryByDefault)).ToList();
        var byName = results.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var binary = new MemoryStream();
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteString("model_name", version.Model);
            w.WriteString("model_version", version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (request.Id is not null) w.WriteString("id", request.Id);
            w.WriteStartArray("outputs");
            foreach (var (name, bin) in wanted)
            {
                if (!byName.TryGetValue(name, out var t))
                    throw ApiException.BadRequest($"unknown output '{name}'; the model returns {string.Join(", ", results.Select(r => $"'{r.Name}'"))}");
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("datatype", KserveTypes.FromOnnx(t.ElementType));
                w.WriteStartArray("shape");
                foreach (var d in t.Dims) w.WriteNumberValue(d);
                w.WriteEndArray();
                if (bin)
                {
                    var bytes = t.Data ?? StringBytes(t.Strings!);
                    w.WriteStartObject("parameters");
                    w.WriteNumber("binary_data_size", bytes.Length);
                    w.WriteEndObject();
                    binary.Write(bytes);
                }
                else
                {
                    w.WriteStartArray("data");
                    if (t.Strings is not null) foreach (var s in t.Strings) w.WriteStringValue(s);
                    else TensorJson.WriteValues(w, t.Data!, t.ElementType, 0, t.ElementCount);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        if (binary.Length == 0) return (json.ToArray(), null);
        var header = (int)json.Length;
        json.Write(binary.ToArray());
        return (json.ToArray(), header);
    }

    private static byte[] StringBytes(string[] strings)
    {
        using var ms = new MemoryStream();
        Span<byte> len = stackalloc byte[4];
        foreach (var s in strings)
        {
            var b = Encoding.UTF8.GetBytes(s);
            BinaryPrimitives.WriteInt32LittleEndian(len, b.Length);
            ms.Write(len);
            ms.Write(b);
        }
        return ms.ToArray();
    }
}
