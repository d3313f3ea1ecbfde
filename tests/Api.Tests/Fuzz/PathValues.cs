namespace NeuralService.Api.Tests.Fuzz;

/// <summary>Odd path and query values, as they go into the request target: traversal (raw and percent-encoded, which
/// Kestrel decodes differently), encoded NUL, slashes and backslashes, overlong and invalid UTF-8 escapes, stray
/// percent signs, reserved device names, numbers that overflow, ids of the wrong kind, and long segments. Everything
/// that is not a legal request-target character is percent-encoded, so the request reaches the app. An encoded NUL
/// (<c>%00</c>) is left out: Kestrel refuses that request target itself, with a bodiless 400, before any app code runs.</summary>
public static class PathValues
{
    public static readonly string[] Odd =
    [
        "..", "../..", "x/../mlp", "./mlp", "mlp/", "%2e%2e", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%2F..%2Fregistry.db", "%2F", "%5C..%5C..%5Cx",
        "..%5C", "%", "%zz", "%C0%AE%C0%AE", "%FF%FE", "%EF%BF%BD", "%F0%9F%A6%80", "%E2%80%AE", "mlp%20", "%20", "~", "CON",
        "NUL", "aux.txt", "mlp;x=1", "mlp%3Fx=1", "mlp%23frag", "mlp:predict", "latest", "-1", "0", "00001", "1.0", "1e3", "2147483648",
        "99999999999999999999", "%2B1", "+1", "production%2F..", "ds-000000000000", "job-0000000000000000", "null", "true", "%7B%7D", "*",
        "$ne", "a.b.c", "_", "-x", "A", "fashion-mnist", "fashion-mnist:test", "%3Cscript%3E", "'", "%22",
    ];

    public static string Pick(Random rng, string good) => rng.Next(10) switch
    {
        0 => new string('a', rng.Next(2) == 0 ? 129 : 2000),
        1 => good + Odd[rng.Next(Odd.Length)],
        2 => Uri.EscapeDataString(((char)rng.Next(0x20, 0x3000)).ToString() + good),
        _ => Odd[rng.Next(Odd.Length)],
    };

    public static readonly string[] OddQuery = ["", "true", "false", "TRUE", "1", "0", "yes", "maybe", "%00", "-1", "latest", "production", "1", "%F0%9F%A6%80", "a%26b%3Dc", new string('q', 3000)];
}
