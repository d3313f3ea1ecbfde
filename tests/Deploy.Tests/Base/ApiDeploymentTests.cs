using System.Net;
using System.Text.Json;
using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Base;

/// <summary>The API Deployment and Service of each overlay against the image (deploy/Dockerfile) and the real app.</summary>
public sealed class ApiDeploymentTests(AppFixture app) : IClassFixture<AppFixture>
{
    private static readonly Dockerfile Dockerfile = Dockerfile.Load();

    private static int ContainerPort(Rendered r) =>
        r.ApiContainer.GetProperty("ports").EnumerateArray().Single(p => p.Str("name") == "http").GetProperty("containerPort").GetInt32();

    /// <summary>A probe's or Service's port: a number, or the name of a container port.</summary>
    private static int ResolvePort(Rendered r, JsonElement port) =>
        port.ValueKind == JsonValueKind.Number
            ? port.GetInt32()
            : r.ApiContainer.GetProperty("ports").EnumerateArray().Single(p => p.Str("name") == port.GetString()).GetProperty("containerPort").GetInt32();

    [SkippableTheory]
    [InlineData("cpu", "cpu")]
    [InlineData("gpu", "cuda")]
    public void Ports_agree_from_image_to_service(string overlay, string target)
    {
        var r = Rendered.Overlay(overlay);
        var port = ContainerPort(r);
        Assert.Equal(DockerfileTests.ExposedPort(target), port);
        Assert.Equal(port, DockerfileTests.UrlPort(r.Env("ASPNETCORE_URLS")!));
        Assert.Equal(port, DockerfileTests.UrlPort(Dockerfile.EffectiveEnv(target)["ASPNETCORE_URLS"]));
        var service = r.Get("Service", "neural-api");
        var servicePort = service.Path("spec", "ports").EnumerateArray().Single();
        Assert.Equal(port, ResolvePort(r, servicePort.GetProperty("targetPort")));
        // The Service selects the API pods.
        foreach (var sel in service.Path("spec", "selector").EnumerateObject())
            Assert.Equal(sel.Value.GetString(), r.ApiDeployment.Path("spec", "template", "metadata", "labels").Str(sel.Name));
        // The Ingress sends traffic to that Service port.
        var backend = r.Get("Ingress", "neural-api").Path("spec", "rules").EnumerateArray().Single()
            .Path("http", "paths").EnumerateArray().Single().Path("backend", "service");
        Assert.Equal("neural-api", backend.Str("name"));
        Assert.Equal(servicePort.Str("name"), backend.Path("port").Str("name"));
        // Prometheus scrapes the same port, on a route the app serves.
        var annotations = r.ApiDeployment.Path("spec", "template", "metadata", "annotations");
        Assert.Equal("true", annotations.Str("prometheus.io/scrape"));
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), annotations.Str("prometheus.io/port"));
        Assert.Contains(annotations.Str("prometheus.io/path")!, app.GetRoutes());
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public async Task Probes_ask_routes_the_app_maps_and_answers_200(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var routes = app.GetRoutes();
        var expected = new Dictionary<string, string>
        {
            ["startupProbe"] = "/v2/health/live",
            ["livenessProbe"] = "/v2/health/live",
            ["readinessProbe"] = "/v2/health/ready",
        };
        foreach (var (probe, path) in expected)
        {
            var get = r.ApiContainer.Path(probe, "httpGet");
            Assert.Equal(path, get.Str("path"));
            Assert.Equal(ContainerPort(r), ResolvePort(r, get.GetProperty("port")));
            Assert.Contains(path, routes);
            using var response = await app.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [SkippableTheory]
    [InlineData("cpu", "cpu")]
    [InlineData("gpu", "cuda")]
    public void Pod_runs_locked_down_as_the_image_user(string overlay, string target)
    {
        var r = Rendered.Overlay(overlay);
        var pod = r.PodSpec.GetProperty("securityContext");
        Assert.True(pod.GetProperty("runAsNonRoot").GetBoolean());
        var uid = int.Parse(Dockerfile.Effective(target, "USER")!.Split(':')[0]);
        Assert.Equal(uid, pod.GetProperty("runAsUser").GetInt32());
        Assert.Equal(uid, pod.GetProperty("fsGroup").GetInt32());
        Assert.Equal("RuntimeDefault", pod.Path("seccompProfile").Str("type"));
        var c = r.ApiContainer.GetProperty("securityContext");
        Assert.True(c.GetProperty("readOnlyRootFilesystem").GetBoolean());
        Assert.False(c.GetProperty("allowPrivilegeEscalation").GetBoolean());
        Assert.Equal(["ALL"], c.Path("capabilities", "drop").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Only_data_and_tmp_are_writable_and_data_is_the_shared_claim(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var mounts = r.ApiContainer.GetProperty("volumeMounts").EnumerateArray()
            .ToDictionary(m => m.Str("mountPath")!, m => m.Str("name")!);
        Assert.Equal(["/data", "/tmp"], mounts.Keys.Order().ToArray());
        var volumes = r.PodSpec.GetProperty("volumes").EnumerateArray().ToDictionary(v => v.Str("name")!);
        Assert.Equal("neural-data", volumes[mounts["/data"]].Path("persistentVolumeClaim").Str("claimName"));
        Assert.True(volumes[mounts["/tmp"]].Has("emptyDir"));
        Assert.True(r.Has("PersistentVolumeClaim", "neural-data"));
        Assert.Equal("/data", r.Env("NEURAL_DATA_DIR"));
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Grace_period_covers_the_prestop_sleep_and_the_30s_drain(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var command = r.ApiContainer.Path("lifecycle", "preStop", "exec", "command").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal("sleep", command[0]);
        var sleep = int.Parse(command[1]);
        Assert.InRange(sleep, 1, 30);
        Assert.True(r.PodSpec.GetProperty("terminationGracePeriodSeconds").GetInt32() >= sleep + 30,
            $"terminationGracePeriodSeconds must cover preStop ({sleep} s) + draining (30 s)");
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Disruption_budget_takes_api_pods_down_one_at_a_time(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var pdb = r.Get("PodDisruptionBudget", "neural-api");
        Assert.Equal("1", pdb.Path("spec").Str("maxUnavailable"));
        var labels = r.ApiDeployment.Path("spec", "template", "metadata", "labels");
        foreach (var sel in pdb.Path("spec", "selector", "matchLabels").EnumerateObject())
            Assert.Equal(sel.Value.GetString(), labels.Str(sel.Name));
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Container_has_cpu_and_memory_requests_within_limits(string overlay)
    {
        var res = Rendered.Overlay(overlay).ApiContainer.GetProperty("resources");
        foreach (var kind in new[] { "cpu", "memory" })
        {
            Assert.True(res.Has("requests", kind), $"no {kind} request");
            Assert.True(res.Has("limits", kind), $"no {kind} limit");
            Assert.True(Quantity(res.Path("requests", kind)) <= Quantity(res.Path("limits", kind)), $"{kind} request above its limit");
        }
    }

    /// <summary>Kubernetes quantities as used here: plain numbers, m (milli), Ki/Mi/Gi.</summary>
    private static double Quantity(JsonElement q)
    {
        var s = q.ValueKind == JsonValueKind.Number ? q.GetRawText() : q.GetString()!;
        (string Suffix, double Factor)[] units = [("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1024.0 * 1024 * 1024), ("m", 0.001)];
        foreach (var (suffix, factor) in units)
            if (s.EndsWith(suffix, StringComparison.Ordinal)) return double.Parse(s[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture) * factor;
        return double.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
    }
}
