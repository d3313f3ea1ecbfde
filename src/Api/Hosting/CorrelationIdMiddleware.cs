using Serilog.Context;

namespace NeuralService.Api.Hosting;

/// <summary>Takes the caller's <c>X-Correlation-Id</c> (or makes one), echoes it and tags every log line with it.</summary>
public sealed class CorrelationIdMiddleware(RequestDelegate next)
{
    public const string Header = "X-Correlation-Id";
    public const string ItemKey = "CorrelationId";

    public async Task InvokeAsync(HttpContext http)
    {
        var given = http.Request.Headers[Header].ToString();
        // Caller-supplied ids end up in logs: keep them short and printable.
        var id = given.Length is > 0 and <= 128 && given.All(c => c is > ' ' and < (char)127) ? given : Guid.NewGuid().ToString("N");
        http.Items[ItemKey] = id;
        http.Response.Headers[Header] = id;
        using (LogContext.PushProperty(ItemKey, id))
            await next(http);
    }
}
