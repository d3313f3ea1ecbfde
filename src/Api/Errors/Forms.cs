namespace NeuralService.Api.Errors;

/// <summary>Reads multipart forms for the upload endpoints.</summary>
public static class Forms
{
    /// <summary>The request's form; a body that breaks the multipart framing (no closing boundary, parts that do not use
    /// the boundary the Content-Type names, a part cut off) is a 400 saying so. ASP.NET reports those as a bare
    /// IOException, which is no server fault; the body size limit's BadHttpRequestException (also an IOException)
    /// keeps its own 413.</summary>
    public static async Task<IFormCollection> ReadMultipartAsync(this HttpRequest request, CancellationToken ct)
    {
        try { return await request.ReadFormAsync(ct); }
        catch (IOException e) when (e is not BadHttpRequestException && !ct.IsCancellationRequested)
        {
            throw ApiException.BadRequest("the multipart/form-data body is malformed: it ends before its closing boundary, "
                + "or its parts do not use the boundary named in the Content-Type header");
        }
    }
}
