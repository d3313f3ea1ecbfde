using System.Net;
using IPNetwork = System.Net.IPNetwork;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;

namespace NeuralService.Api.Security;

/// <summary><c>Neural:TrustedProxies</c>: the reverse proxies (an Ingress controller, a load balancer) whose
/// <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are believed. Each entry is an IP address or a CIDR network
/// (<c>10.0.0.0/8</c>); an entry may also hold several, comma-separated. From any other peer the headers are ignored, so
/// a client cannot pick its own address (and with it a fresh rate-limit bucket).</summary>
public static class TrustedProxies
{
    /// <summary>One configured entry as addresses and networks; the error says what is wrong with it.</summary>
    public static bool TryParse(string entry, out List<IPAddress> proxies, out List<IPNetwork> networks, out string? error)
    {
        proxies = [];
        networks = [];
        error = null;
        foreach (var part in entry.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Contains('/'))
            {
                if (!IPNetwork.TryParse(part, out var network))
                {
                    error = $"'{part}' is not a CIDR network (address/prefix with no host bits set, such as 10.0.0.0/8)";
                    return false;
                }
                // A typo such as 10.0.0.1/8 would silently trust a whole /8: say what it means instead.
                if (!IPAddress.TryParse(part[..part.IndexOf('/')], out var given) || !given.Equals(network.BaseAddress))
                {
                    error = $"'{part}' is not a CIDR network: it has host bits set (the network is {network})";
                    return false;
                }
                networks.Add(network);
            }
            else if (IPAddress.TryParse(part, out var ip)) proxies.Add(ip);
            else { error = $"'{part}' is not an IP address (host names are not resolved; give the proxy's address or network)"; return false; }
        }
        // ASP.NET believes every peer when it knows no proxy at all, so an entry that names none must not pass.
        if (proxies.Count + networks.Count == 0) { error = $"'{entry}' names no address or network"; return false; }
        return true;
    }

    /// <summary>ASP.NET's forwarded-headers middleware with its defaults (which trust loopback) replaced by the configuration.</summary>
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<NeuralOptions>>((f, neural) =>
        {
            f.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            f.KnownProxies.Clear();
            f.KnownIPNetworks.Clear();
            // The obsolete list still holds loopback by default and is still consulted.
#pragma warning disable ASPDEPR005, CS0618
            f.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005, CS0618
            // No hop limit: the middleware walks X-Forwarded-For from the right and stops at the first address that is
            // not a trusted proxy, which is the real client however many trusted hops there are.
            f.ForwardLimit = null;
            foreach (var entry in neural.Value.TrustedProxies)
                if (TryParse(entry, out var proxies, out var networks, out _))
                {
                    foreach (var p in proxies) f.KnownProxies.Add(p);
                    foreach (var n in networks) f.KnownIPNetworks.Add(n);
                }
        });
        return services;
    }
}
