using System.Text;
using NeuralService.Api.Errors;

namespace NeuralService.Api.Endpoints;

/// <summary>A list request's page: at most <see cref="Limit"/> items after the key <see cref="After"/> (null: from the start).</summary>
public sealed record PageQuery(int Limit, string? After);

/// <summary>Keyset pagination for the list endpoints: <c>?limit=</c> (default <see cref="DefaultLimit"/>, at most
/// <see cref="MaxLimit"/>) and an opaque <c>page_token</c>, the <c>next_page_token</c> of the previous page. A token
/// holds the sort key of the last item it covered, so a page never repeats or skips an item because others were added
/// or deleted meanwhile. Tokens are bound to their list: one from /v1/jobs is refused by /v1/models.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;
    public const string Description = "Paginated: ?limit= (1–1000, default 50) and ?page_token= (the previous answer's next_page_token, "
        + "null on the last page).";
    private const string Version = "p1";

    public static PageQuery Read(int? limit, string? pageToken, string list)
    {
        if (limit is { } l && l is < 1 or > MaxLimit) throw ApiException.BadRequest($"limit must be between 1 and {MaxLimit}, got {l}");
        string? after = null;
        if (!string.IsNullOrEmpty(pageToken))
            after = Decode(pageToken, list) ?? throw ApiException.BadRequest(
                $"page_token is not a token of this list ({list}): pass the next_page_token of the previous page unchanged, or leave it out for the first page");
        return new PageQuery(limit ?? DefaultLimit, after);
    }

    /// <summary>The page of <paramref name="items"/> (in any order) by their string sort key, compared ordinally.</summary>
    public static (List<T> Items, string? NextPageToken) Page<T>(IEnumerable<T> items, Func<T, string> keyOf, PageQuery q, string list)
    {
        var rest = items.Select(i => (Key: keyOf(i), Item: i))
            .Where(x => q.After is null || string.CompareOrdinal(x.Key, q.After) > 0)
            .OrderBy(x => x.Key, StringComparer.Ordinal)
            .Take(q.Limit + 1).ToList();
        var page = rest.Take(q.Limit).ToList();
        return (page.Select(x => x.Item).ToList(), rest.Count > q.Limit ? Token(list, page[^1].Key) : null);
    }

    public static string Token(string list, string after) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Version}\n{list}\n{after}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? Decode(string token, string list)
    {
        if (token.Length > 4096) return null;
        var b64 = token.Replace('-', '+').Replace('_', '/');
        b64 += new string('=', (4 - b64.Length % 4) % 4);
        byte[] bytes;
        try { bytes = Convert.FromBase64String(b64); }
        catch (FormatException) { return null; }
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
        var parts = text.Split('\n', 3);
        return parts.Length == 3 && parts[0] == Version && parts[1] == list ? parts[2] : null;
    }

    /// <summary>A number as a key that sorts like the number.</summary>
    public static string NumberKey(long n) => n.ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
}

public sealed record ModelList(IReadOnlyList<ModelDto> Models, string? NextPageToken);
public sealed record VersionList(IReadOnlyList<VersionDto> Versions, string? NextPageToken);
public sealed record JobList(IReadOnlyList<Jobs.Job> Jobs, string? NextPageToken);
public sealed record DatasetList(IReadOnlyList<Datasets.DatasetInfo> Datasets, string? NextPageToken);
public sealed record AliasDto(string Model, string Alias, int Version);
