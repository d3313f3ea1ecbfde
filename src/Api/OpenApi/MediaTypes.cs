using Microsoft.OpenApi;

namespace NeuralService.Api.OpenApi;

internal static class MediaTypes
{
    /// <summary>The editable media type object for <paramref name="type"/>, if the content has one (Swashbuckle builds
    /// concrete objects; only references would be read-only).</summary>
    public static bool TryGet(this IDictionary<string, IOpenApiMediaType>? content, string type, out OpenApiMediaType media)
    {
        media = null!;
        if (content is null || !content.TryGetValue(type, out var m) || m is not OpenApiMediaType concrete) return false;
        media = concrete;
        return true;
    }
}
