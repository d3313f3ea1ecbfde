using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using NeuralService.Graph.Core;
using NeuralService.Inference;
using NeuralService.Training.Data;

namespace NeuralService.Api.Errors;

/// <summary>The one place where exceptions become RFC 7807 problem details: domain errors keep their message as the
/// detail, anything unexpected is a 500 without internals.</summary>
public sealed partial class ProblemMapping(IProblemDetailsService problems, ILogger<ProblemMapping> log) : IExceptionHandler
{
    public static (int Status, string Title)? Map(Exception e) => e switch
    {
        ApiException a => (a.Status, a.Title),
        InferenceServiceException s => s.Kind switch
        {
            ErrorKind.NotFound => (404, "Not found"),
            ErrorKind.Conflict => (409, "Conflict"),
            ErrorKind.Overloaded => (429, "Too many requests"),
            ErrorKind.TooLarge => (413, "Payload too large"),
            _ when s is ModelExecutionException => (422, "Model execution failed"),
            _ when s is ModelMemoryException => (422, "Model over memory budget"),
            _ => (400, "Invalid request"),
        },
        GraphException => (422, "Invalid model definition"),
        DataFormatException => (400, "Invalid data"),
        DataTooLargeException => (413, "Payload too large"),
        // ReadFormAsync over its multipart limits.
        InvalidDataException => (400, "Invalid data"),
        JsonException => (400, "Malformed JSON"),
        // System.Text.Json marks its reader's errors this way, e.g. a string holding an escaped lone surrogate ("\uD800"),
        // which parses but cannot be read as text, in a body a codec reads by hand.
        InvalidOperationException { Source: "System.Text.Json.Rethrowable" } => (400, "Malformed JSON"),
        BadHttpRequestException { InnerException: JsonException } b when b.StatusCode == 400 => (400, "Malformed JSON"),
        BadHttpRequestException b => (b.StatusCode, b.StatusCode == 413 ? "Payload too large" : "Bad request"),
        // Domain code reports bad user-supplied settings (unknown optimizer, loss…) as argument errors.
        ArgumentException => (400, "Invalid argument"),
        NotSupportedException => (422, "Not supported"),
        _ => null,
    };

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken ct)
    {
        var mapped = Map(exception);
        if (mapped is null) log.LogError(exception, "unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path);
        var (status, title) = mapped ?? (500, "Internal server error");
        http.Response.StatusCode = status;
        if (status == 429) http.Response.Headers.RetryAfter = "1";
        var problem = new ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = mapped is null ? "an unexpected error occurred; see the server log"
                : UnknownFieldDetail(http, exception) is { } unknown ? unknown
                : JsonDetail(http, exception) is { } malformed ? malformed
                : Redact(exception.Message, http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Hosting.NeuralOptions>>().Value.DataDirectory),
            Type = $"https://httpstatuses.io/{status}",
        };
        if (status is >= 400 and < 500 && problem.Detail is { } detail && FieldOf(http, exception, detail) is { } field)
            problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [detail] };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, Exception = exception, ProblemDetails = problem });
    }

    /// <summary>The request body member a client error is about, by its JSON path (<c>fit.epochs</c>), so that a form
    /// can show the error next to that field: the path of a JSON reader error, or the member a domain error's detail
    /// starts with (they name the field first: "fit.epochs must be in 1..100000", "compile.loss: unknown loss 'x'").
    /// Only a path the endpoint's body type has counts (cut to its longest such prefix, so <c>compile.loss[1]</c> is
    /// <c>compile.loss</c>); null otherwise.</summary>
    public static string? FieldOf(HttpContext http, Exception exception, string detail)
    {
        var endpoint = http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        if (bodyType is null) return null;
        var options = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return FieldOf(options, bodyType, exception, detail);
    }

    /// <summary><see cref="FieldOf(HttpContext, Exception, string)"/> for a body of <paramref name="bodyType"/>.</summary>
    public static string? FieldOf(JsonSerializerOptions options, Type bodyType, Exception exception, string detail)
    {
        var json = exception as JsonException ?? exception.InnerException as JsonException;
        // An unknown member is named as sent: it is the field to remove, though the body type has no such member.
        if (json?.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) && UnknownFieldDetail(options, bodyType, path) is not null)
            return path[2..];
        // A reader error names the member only when its value had the wrong type; a body cut short is not about a field.
        var lead = json is not null
            ? json.Path is { } p && p.StartsWith("$.", StringComparison.Ordinal) && json.Message.Contains("could not be converted", StringComparison.Ordinal) ? p[2..] : null
            : LeadingPath().Match(detail) is { Success: true } m ? m.Value : null;
        if (lead is null) return null;
        var segments = JsonPathSegments("$." + lead);
        if (segments is null) return null;
        for (var n = segments.Count; n > 0; n--)
        {
            if (segments[n - 1].Index) continue;
            var prefix = string.Join(".", segments.Take(n).Select(s => s.Name));
            if (segments.Take(n).All(s => !s.Index) && TypeAt(options, bodyType, "$." + prefix) is not null) return prefix;
        }
        return null;
    }

    /// <summary>A snake_case member path at the start of a message, up to the first character that cannot be in one.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*|\[\d+\])*(?=[\s:'.,]|$)")]
    private static partial System.Text.RegularExpressions.Regex LeadingPath();

    /// <summary>For a request body refused by the strict JSON options (a field no request DTO has): which field, by its
    /// JSON path, and what that object accepts. Null for any other error. The field is found by walking the endpoint's
    /// body type along the exception's path rather than by reading the serializer's message, which names .NET types.</summary>
    public static string? UnknownFieldDetail(HttpContext http, Exception exception)
    {
        var json = exception as JsonException ?? exception.InnerException as JsonException;
        if (json?.Path is not { } path) return null;
        // The exception handler has cleared the request's endpoint by now; its feature keeps the one that threw.
        var endpoint = http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        if (bodyType is null) return null;
        var options = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return UnknownFieldDetail(options, bodyType, path);
    }

    /// <summary>The detail for <paramref name="path"/> (<c>$.fit.epoch</c>) in a body of <paramref name="bodyType"/>
    /// when its last segment is a member that object does not have; null when it does (a wrong value, not a wrong name).</summary>
    public static string? UnknownFieldDetail(JsonSerializerOptions options, Type bodyType, string path)
    {
        var segments = JsonPathSegments(path);
        if (segments is null || segments.Count == 0 || segments[^1].Index) return null;
        var info = options.GetTypeInfo(bodyType);
        var shown = new System.Text.StringBuilder();
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var (name, index) = segments[i];
            Type? next = index
                ? info.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Enumerable ? info.ElementType : null
                : info.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object ? info.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType : null;
            if (next is null) return null;
            info = options.GetTypeInfo(Nullable.GetUnderlyingType(next) ?? next);
            shown.Append(index ? $"[{name}]" : shown.Length == 0 ? name : "." + name);
        }
        if (info.Kind != System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object) return null;
        var last = segments[^1].Name;
        if (info.Properties.Any(p => p.Name == last)) return null;
        var parent = shown.ToString();
        var field = parent.Length == 0 ? last : $"{parent}.{last}";
        var accepted = string.Join(", ", info.Properties.Where(p => p.Set is not null || p.AssociatedParameter is not null).Select(p => p.Name));
        return $"unknown field '{field}'; {(parent.Length == 0 ? "the request body" : $"'{parent}'")} accepts {accepted}";
    }

    /// <summary>For a body that System.Text.Json could not read (not JSON, or a value of the wrong type): what is wrong in
    /// the client's terms, where (line, column, JSON path) and what to send, without the serializer's .NET type names.
    /// Null for a JsonException that does not come from the reader (it has no position) and for other errors.</summary>
    public static string? JsonDetail(HttpContext http, Exception exception)
    {
        var endpoint = http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var bodyType = endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType;
        var options = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return JsonDetail(options, bodyType, exception);
    }

    /// <summary>The detail of <see cref="JsonDetail(HttpContext, Exception)"/> for a body of <paramref name="bodyType"/>.</summary>
    public static string? JsonDetail(JsonSerializerOptions options, Type? bodyType, Exception exception)
    {
        var json = exception as JsonException ?? exception.InnerException as JsonException;
        if (json?.LineNumber is not { } line) return null;
        var where = $"line {line + 1}, column {(json.BytePositionInLine ?? 0) + 1}";
        var message = json.Message;
        foreach (var marker in new[] { " Path: ", " LineNumber: " })
            if (message.IndexOf(marker, StringComparison.Ordinal) is var cut and >= 0) message = message[..cut];
        message = message.Trim().TrimEnd('.');
        if (message.Contains("could not be converted", StringComparison.Ordinal) && json.Path is { } path)
        {
            var expected = bodyType is null ? null : TypeAt(options, bodyType, path) is { } type ? Describe(type) : null;
            var field = path == "$" ? "the request body" : $"'{path.TrimStart('$').TrimStart('.')}'";
            return $"{field} has a value of the wrong type ({where}){(expected is null ? "" : $": send {expected}")}; the request schemas are in /swagger";
        }
        return $"the request body is not valid JSON: {message} ({where}); send one JSON object with Content-Type: application/json " +
            "(comments, trailing commas, NaN and single quotes are not JSON); the request schemas and examples are in /swagger";
    }

    /// <summary>The .NET type at <paramref name="path"/> in a body of <paramref name="bodyType"/>, or null.</summary>
    private static Type? TypeAt(JsonSerializerOptions options, Type bodyType, string path)
    {
        if (JsonPathSegments(path) is not { } segments) return null;
        var type = bodyType;
        foreach (var (name, index) in segments)
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            Type? next = index
                ? info.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Enumerable ? info.ElementType : null
                : info.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object ? info.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType : null;
            if (next is null) return null;
            type = next;
        }
        return Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>A JSON value of <paramref name="type"/> in words.</summary>
    private static string Describe(Type type) => Type.GetTypeCode(type) switch
    {
        _ when type.IsEnum => "a string",
        TypeCode.Boolean => "true or false",
        TypeCode.String or TypeCode.Char or TypeCode.DateTime => "a string",
        TypeCode.Byte or TypeCode.SByte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => "a whole number",
        TypeCode.Single or TypeCode.Double or TypeCode.Decimal => "a number",
        _ when type == typeof(JsonElement) || typeof(System.Text.Json.Nodes.JsonNode).IsAssignableFrom(type) => "a JSON value",
        _ when type.IsAssignableTo(typeof(System.Collections.IDictionary)) || type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)) => "an object",
        _ when type.IsAssignableTo(typeof(System.Collections.IEnumerable)) => "an array",
        _ => "an object",
    };

    /// <summary>Splits System.Text.Json's exception paths (<c>$.a.b</c>, <c>$.a[0]</c>, <c>$['odd name']</c>).</summary>
    private static List<(string Name, bool Index)>? JsonPathSegments(string path)
    {
        if (!path.StartsWith('$')) return null;
        var segments = new List<(string, bool)>();
        var i = 1;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                var end = path.IndexOfAny(['.', '['], i + 1);
                if (end < 0) end = path.Length;
                segments.Add((path[(i + 1)..end], false));
                i = end;
            }
            else if (path.AsSpan(i).StartsWith("['"))
            {
                var end = path.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) return null;
                segments.Add((path[(i + 2)..end], false));
                i = end + 2;
            }
            else if (path[i] == '[')
            {
                var end = path.IndexOf(']', i + 1);
                if (end < 0) return null;
                segments.Add((path[(i + 1)..end], true));
                i = end + 1;
            }
            else return null;
        }
        return segments;
    }

    /// <summary>A message with the server's data directory made relative to it (<c>datasets/ds-…/features.npy</c>):
    /// domain errors quote file paths, and where the service keeps its files is not the client's business.</summary>
    public static string Redact(string message, string dataDirectory)
    {
        var full = Path.GetFullPath(dataDirectory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (full.Length == 0) return message;
        return message.Replace(full + Path.DirectorySeparatorChar, "", StringComparison.Ordinal).Replace(full, ".", StringComparison.Ordinal);
    }

    /// <summary>Gives the framework's bodiless error answers (no route 404, 405, routing's 415 for an unaccepted
    /// Content-Type, Kestrel's 413 while binding) the same problem body as every other error.</summary>
    public static Task StatusCodePageAsync(Microsoft.AspNetCore.Diagnostics.StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var what = $"{http.Request.Method} {http.Request.Path}";
        var (title, detail) = status switch
        {
            404 => ("Not found", $"no resource at {what}"),
            405 => ("Method not allowed", $"{http.Request.Method} is not allowed on {http.Request.Path}"),
            413 => ("Payload too large", $"the request body of {what} exceeds the limit"),
            415 => ("Unsupported media type",
                $"{what} does not accept Content-Type '{http.Request.ContentType ?? "(none)"}'; send application/json (binary tensors: application/octet-stream, uploads: multipart/form-data)"),
            _ => (ReasonPhrases.GetReasonPhrase(status), $"{what} answered {status}"),
        };
        return WriteAsync(http, status, title, detail);
    }

    /// <summary>Writes a problem response outside the exception path (auth, rate limiting, size guards).</summary>
    public static Task WriteAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail, Type = $"https://httpstatuses.io/{status}" },
        }).AsTask();
    }
}
