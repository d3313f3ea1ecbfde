using System.Text.Json;
using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Examples;

/// <summary>Every Job template (rendered overlays and deploy/examples) runs the worker mode of the API image,
/// `dotnet NeuralService.Api.dll worker --job <id>`, with the API's configuration and data volume.</summary>
public sealed class WorkerJobTests
{
    public static IEnumerable<JsonElement> JobTemplates(Rendered r) =>
        r.OfKind("Job").Select(j => j.Path("spec", "template", "spec"))
            .Concat(r.OfKind("CronJob").Select(j => j.Path("spec", "jobTemplate", "spec", "template", "spec")));

    [SkippableFact]
    public void Job_templates_run_worker_job()
    {
        var templates = new[] { "cpu", "gpu" }.SelectMany(o => JobTemplates(Rendered.Overlay(o)))
            .Concat(JobTemplates(Rendered.File(Path.Combine(RepoPaths.Deploy, "examples", "worker-job.yaml"))))
            .ToList();
        Assert.NotEmpty(templates);
        var entrypoint = Stage.ExecForm(Dockerfile.Load().Effective("cpu", "ENTRYPOINT")!);
        foreach (var pod in templates)
        {
            Assert.Equal("Never", pod.Str("restartPolicy"));
            var c = pod.GetProperty("containers").EnumerateArray().Single();
            // No command: the image's entrypoint (dotnet NeuralService.Api.dll) runs with these arguments.
            Assert.False(c.Has("command"), "a worker Job must keep the image entrypoint");
            Assert.Equal(["dotnet", typeof(Program).Assembly.GetName().Name + ".dll"], entrypoint);
            var args = c.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToArray();
            Assert.Equal(3, args.Length);
            Assert.Equal(["worker", "--job"], args[..2]);
            Assert.NotEmpty(args[2]);
            var envFrom = c.GetProperty("envFrom").EnumerateArray().ToList();
            Assert.Contains(envFrom, e => e.Has("configMapRef") && e.Path("configMapRef").Str("name") == "neural-config");
            Assert.Contains(envFrom, e => e.Has("secretRef") && e.Path("secretRef").Str("name") == "neural-secrets");
            var data = c.GetProperty("volumeMounts").EnumerateArray().Single(m => m.Str("mountPath") == "/data");
            var volume = pod.GetProperty("volumes").EnumerateArray().Single(v => v.Str("name") == data.Str("name"));
            Assert.Equal("neural-data", volume.Path("persistentVolumeClaim").Str("claimName"));
            Assert.True(c.Path("securityContext").GetProperty("readOnlyRootFilesystem").GetBoolean());
        }
    }
}
