using System.Security.Cryptography;
using System.Text;
using NeuralService.Api.Errors;

namespace NeuralService.Api.Security;

/// <summary>Marks an endpoint that changes nothing although it is a POST (inference), so it needs no API key.</summary>
public sealed class ReadOnlyEndpointAttribute : Attribute;

/// <summary>API keys from <c>NEURAL_API_KEYS</c> (comma-separated). When set, every mutating request needs
/// <c>X-Api-Key: k</c> or <c>Authorization: Bearer k</c>.</summary>
public sealed class ApiKeys
{
    public const string EnvironmentVariable = "NEURAL_API_KEYS";
    private readonly byte[][] _keys;

    public ApiKeys(IEnumerable<string> keys) =>
        _keys = keys.Select(k => k.Trim()).Where(k => k.Length > 0).Select(Encoding.UTF8.GetBytes).ToArray();

    public static ApiKeys From(IConfiguration config) => new((config[EnvironmentVariable] ?? "").Split(','));

    public bool Enabled => _keys.Length > 0;

    public bool IsValid(string? key)
    {
        if (string.IsNullOrEmpty(key)) return false;
        var given = Encoding.UTF8.GetBytes(key);
        var ok = false;
        foreach (var k in _keys) ok |= CryptographicOperations.FixedTimeEquals(k, given);
        return ok;
    }

    public static string? Presented(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var k) && !string.IsNullOrEmpty(k)) return k.ToString();
        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : null;
    }

    /// <summary>Refuses to expose an unauthenticated service beyond this machine. Given the configured URLs before start
    /// (a fast refusal) and, by <see cref="Hosting.BindGuard"/>, the addresses actually bound after start.</summary>
    public void CheckBinding(IEnumerable<string> urls)
    {
        if (Enabled) return;
        var exposed = urls.Where(u => !IsLoopback(u)).ToList();
        if (exposed.Count > 0)
            throw new Hosting.StartupRefusedException(
                $"refusing to listen on {string.Join(", ", exposed)} without API keys: set {EnvironmentVariable}=key1,key2 " +
                "or bind to loopback addresses only (--urls http://127.0.0.1:8080); ASPNETCORE_HTTP_PORTS, --http_ports and " +
                "http://*:port listen on every interface");
    }

    private static bool IsLoopback(string url)
    {
        var host = url.Split("://", 2)[^1].Split('/')[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']')] : host.Split(':')[0];
        return host is "localhost" or "127.0.0.1" or "::1" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }
}

public sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeys keys)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var method = http.Request.Method;
        var mutating = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));
        var presented = ApiKeys.Presented(http.Request);
        if (keys.Enabled && mutating && http.GetEndpoint()?.Metadata.GetMetadata<ReadOnlyEndpointAttribute>() is null && !keys.IsValid(presented))
        {
            // No credentials: 401 with the challenge. Credentials this server does not accept: 403, so a client can tell
            // "log in" from "this key is wrong" (the key itself is never echoed).
            if (string.IsNullOrWhiteSpace(presented))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                await ProblemMapping.WriteAsync(http, 401, "Unauthorized", "this request needs an API key: X-Api-Key: <key> or Authorization: Bearer <key>");
            }
            else await ProblemMapping.WriteAsync(http, 403, "Forbidden", "the API key presented is not one of this server's keys (NEURAL_API_KEYS)");
            return;
        }
        await next(http);
    }
}
