using System.Text.Json;
using NeuralService.Api.Errors;

namespace NeuralService.Api.Kserve;

/// <summary>Closed objects in the hand-parsed inference bodies, with the same answer as the bound request bodies: a
/// member the object does not have is a 400 naming it by its JSON path and listing what is accepted.</summary>
internal static class StrictJson
{
    /// <param name="path">The object's path (<c>inputs[0]</c>), empty for the body itself.</param>
    /// <param name="acceptsWhat">How the message introduces the list (default: "'path' accepts").</param>
    public static void CheckFields(JsonElement obj, string path, IReadOnlyCollection<string> accepted, string? acceptsWhat = null)
    {
        if (obj.ValueKind != JsonValueKind.Object) return;
        foreach (var member in obj.EnumerateObject())
        {
            if (accepted.Contains(member.Name)) continue;
            var field = path.Length == 0 ? member.Name : $"{path}.{member.Name}";
            var owner = acceptsWhat ?? $"{(path.Length == 0 ? "the request body" : $"'{path}'")} accepts";
            throw ApiException.BadRequest($"unknown field '{field}'; {owner} {string.Join(", ", accepted)}");
        }
        // The protocol's own objects keep their "parameters" open, but it must be an object.
        if (acceptsWhat is not null) return;
        foreach (var member in obj.EnumerateObject())
            if (member.Name == "parameters" && member.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw ApiException.BadRequest($"'{(path.Length == 0 ? "" : path + ".")}parameters' must be an object, got {member.Value.ValueKind.ToString().ToLowerInvariant()}");
    }
}
