using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Hosting;
using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests;

/// <summary>deploy/Dockerfile, read (there is no Docker engine in CI): what each target promises.</summary>
public sealed class DockerfileTests
{
    private static readonly Dockerfile File = Dockerfile.Load();
    private static readonly string ApiDll = typeof(Program).Assembly.GetName().Name + ".dll";

    public static int ExposedPort(string target) => int.Parse(File.Effective(target, "EXPOSE")!.Split('/')[0]);

    public static int UrlPort(string url) => new Uri(url.Replace("0.0.0.0", "localhost").Replace("+", "localhost").Replace("*", "localhost")).Port;

    [Fact]
    public void Build_stage_compiles_the_onnx_schema_from_libonnx_dev_and_publishes_the_api()
    {
        var build = File.Stage("build");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", build.Base);
        // Graph.csproj compiles $(OnnxProtoDir)/onnx.proto; the image must provide it at that default place.
        var protoDir = Regex.Match(System.IO.File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Graph", "Graph.csproj")),
            @"<OnnxProtoDir[^>]*>([^<]+)</OnnxProtoDir>").Groups[1].Value;
        Assert.Equal("/usr/include/onnx", protoDir);
        var protoStage = File.Stages.Single(s => s.All("RUN").Any(r => r.Contains("apt-get install") && r.Contains("libonnx-dev")));
        Assert.Contains(build.All("COPY"), c => c.Contains($"--from={protoStage.Name}") && c.Contains(protoDir));
        Assert.Contains(build.All("RUN"), r => Regex.IsMatch(r, @"dotnet publish src/Api/Api\.csproj -c Release\b.* -o /app"));
    }

    [Fact]
    public void Targets_are_cpu_on_aspnet_and_cuda_on_a_cuda13_cudnn_ubuntu_runtime()
    {
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", File.RootImage("cpu"));
        Assert.Matches(@"^nvidia/cuda:13\.[0-9.]+-cudnn-runtime-ubuntu24\.04$", File.RootImage("cuda"));
        var cuda = File.Stage("cuda");
        // The cuda target gets the ASP.NET Core runtime from the aspnet image it does not build on.
        Assert.Contains(cuda.All("COPY"), c => Regex.IsMatch(c, @"--from=aspnet\s+/usr/share/dotnet/?\s"));
        Assert.Contains(cuda.All("RUN"), r => r.Contains("ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet"));
    }

    [Fact]
    public void Cuda_target_carries_the_pinned_onnx_runtime_gpu_natives()
    {
        var props = System.IO.File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Packages.props"));
        string Pinned(string id) => Regex.Match(props, $@"Include=""{Regex.Escape(id)}"" Version=""([^""]+)""").Groups[1].Value;
        var cpu = Pinned("Microsoft.ML.OnnxRuntime");
        var gpu = Pinned("Microsoft.ML.OnnxRuntime.Gpu.Linux");
        Assert.NotEmpty(gpu);
        // The app's managed ORT binding (from the CPU package) calls into the GPU native library: same C API version.
        Assert.Equal(string.Join('.', cpu.Split('.')[..2]), string.Join('.', gpu.Split('.')[..2]));
        var natives = System.IO.File.ReadAllText(Path.Combine(RepoPaths.Deploy, "gpu-natives", "GpuNatives.csproj"));
        Assert.Contains(@"<PackageReference Include=""Microsoft.ML.OnnxRuntime.Gpu.Linux"" />", natives);
        Assert.Contains(File.Stage("build").All("RUN"), r => r.Contains("libonnxruntime_providers_cuda.so") && r.Contains("/gpu-native"));
        Assert.Contains(File.Stage("cuda").All("COPY"), c => Regex.IsMatch(c, @"--from=build\s+/gpu-native/?\s+/app/?$"));
        Assert.DoesNotContain(File.Stage("cpu").All("COPY"), c => c.Contains("gpu-native"));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    public void Final_images_run_the_api_as_a_fixed_non_root_user_on_a_data_volume(string target)
    {
        var user = File.Effective(target, "USER");
        Assert.NotNull(user);
        Assert.Matches(@"^[0-9]+(:[0-9]+)?$", user); // numeric, so Kubernetes' runAsNonRoot can check it
        Assert.NotEqual(0, int.Parse(user!.Split(':')[0]));
        Assert.Contains("/data", File.Effective(target, "VOLUME")!.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var env = File.EffectiveEnv(target);
        Assert.Equal("/data", env["NEURAL_DATA_DIR"]);
        Assert.Equal("http://0.0.0.0:8080", env["ASPNETCORE_URLS"]);
        Assert.Equal(ExposedPort(target), UrlPort(env["ASPNETCORE_URLS"]));
        Assert.Equal(["dotnet", ApiDll], Stage.ExecForm(File.Effective(target, "ENTRYPOINT")!));
        Assert.Equal("/app", File.Effective(target, "WORKDIR"));
        Assert.Contains(File.Stage(target).All("COPY"), c => Regex.IsMatch(c, @"--from=build\s+/app/?\s+/app/?$"));
        // The volume's mount point belongs to that user, so a fresh volume starts writable.
        Assert.Contains(File.Chain(target).SelectMany(s => s.All("RUN")), r => r.Contains($"chown {user} /data") || r.Contains($"chown {user.Split(':')[0]}:{user.Split(':')[0]} /data"));
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("cuda")]
    public void Healthcheck_asks_the_live_route_on_the_exposed_port(string target)
    {
        var health = File.Effective(target, "HEALTHCHECK")!;
        var script = HealthScript(health);
        Assert.Contains($"/dev/tcp/127.0.0.1/{ExposedPort(target)}", script);
        Assert.Contains("GET /v2/health/live ", script);
    }

    /// <summary>The HEALTHCHECK command itself, run by bash against the real app on Kestrel (the port swapped for a
    /// free one): it passes on a live server and fails where nothing listens.</summary>
    [Fact]
    public async Task Healthcheck_command_passes_against_the_real_server_and_fails_without_one()
    {
        var script = HealthScript(File.Effective("cpu", "HEALTHCHECK")!);
        var port = ExposedPort("cpu").ToString(System.Globalization.CultureInfo.InvariantCulture);
        var data = Directory.CreateTempSubdirectory("deploy-health").FullName;
        try
        {
            await using var app = ApiApp.Build(["--urls", "http://127.0.0.1:0", "--environment", "Development",
                $"--Neural:DataDirectory={data}", "--Neural:UseCuda=false"]);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            var live = new Uri(address).Port;
            Assert.Equal(0, Bash(script.Replace($"/{port}", $"/{live}")));
            await app.StopAsync();
            Assert.NotEqual(0, Bash(script.Replace($"/{port}", $"/{live}")));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); }
            catch (IOException) { }
        }
    }

    [Fact]
    public void Dockerignore_keeps_every_build_input_and_drops_build_outputs()
    {
        var patterns = System.IO.File.ReadAllLines(RepoPaths.DockerIgnore).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal("*", patterns[0]); // allow-list: only what is named below goes into the context
        var kept = patterns.Where(p => p.StartsWith('!')).Select(p => p[1..].TrimEnd('/')).ToList();
        Assert.Contains("**/bin/", patterns);
        Assert.Contains("**/obj/", patterns);
        var sources = File.Stages.SelectMany(s => s.All("COPY")).Where(c => !c.StartsWith("--from"))
            .SelectMany(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]).ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var path = source.TrimEnd('/');
            Assert.True(System.IO.File.Exists(Path.Combine(RepoPaths.Root, path)) || Directory.Exists(Path.Combine(RepoPaths.Root, path)),
                $"COPY {source}: not in the repository");
            Assert.True(kept.Any(k => path == k || path.StartsWith(k + "/", StringComparison.Ordinal)), $"COPY {source}: excluded by .dockerignore");
        }
    }

    private static string HealthScript(string healthcheck)
    {
        var cmd = healthcheck.IndexOf("CMD ", StringComparison.Ordinal);
        Assert.True(cmd >= 0, $"HEALTHCHECK without CMD: {healthcheck}");
        var words = Stage.ExecForm(healthcheck[(cmd + 4)..].Trim());
        Assert.Equal(["bash", "-c"], words[..2]);
        return words[2];
    }

    private static int Bash(string script)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(20)), "health check script hung");
        return p.ExitCode;
    }
}
