using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using NeuralService.Api.Errors;

namespace NeuralService.Api.Hosting;

/// <summary>Marks endpoints that accept file uploads (models, datasets): they get the upload size limit.</summary>
public sealed class UploadEndpointAttribute : Attribute;

/// <summary>Answers 413 before reading a body over the endpoint's limit, and caps bodies of unknown length.</summary>
public sealed class BodySizeMiddleware(RequestDelegate next, IOptions<NeuralOptions> options)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var limits = options.Value.Limits;
        var limit = http.GetEndpoint()?.Metadata.GetMetadata<UploadEndpointAttribute>() is null ? limits.MaxRequestBytes : limits.MaxUploadBytes;
        if (http.Request.ContentLength is { } length && length > limit)
        {
            await ProblemMapping.WriteAsync(http, 413, "Payload too large", $"the request body has {length} bytes; the limit here is {limit}");
            return;
        }
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = limit;
        http.Items[ItemKey] = limit;
        await next(http);
    }

    public const string ItemKey = "BodyLimit";

    /// <summary>Reads the whole body, refusing more than the endpoint's limit even without a Content-Length.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext http, CancellationToken ct)
    {
        var limit = http.Items[ItemKey] as long? ?? long.MaxValue;
        using var ms = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = await http.Request.Body.ReadAsync(buffer, ct)) > 0)
        {
            if (ms.Length + n > limit) throw ApiException.TooLarge($"the request body exceeds the limit of {limit} bytes");
            ms.Write(buffer, 0, n);
        }
        return ms.ToArray();
    }
}
