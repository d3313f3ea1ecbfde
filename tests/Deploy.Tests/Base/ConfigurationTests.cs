using System.Data.Common;
using NeuralService.Deploy.Tests.Support;

namespace NeuralService.Deploy.Tests.Base;

/// <summary>The ConfigMap, Secret and env of the API: only names the service reads, PostgreSQL storage that the render
/// actually provides, and Jobs settings that point at rendered objects.</summary>
public sealed class ConfigurationTests
{
    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Every_setting_is_one_the_service_reads(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var names = r.Settings().Keys.ToList();
        names.AddRange(r.ApiContainer.GetProperty("env").EnumerateArray().Select(e => e.Str("name")!));
        Assert.NotEmpty(names);
        var unknown = names.Where(n => !KnownSettings.EnvironmentNames.Contains(n)).ToList();
        Assert.True(unknown.Count == 0, $"settings the service does not read: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void Known_settings_come_from_the_options_classes()
    {
        // Guards the reflection itself: nested sections are flattened, and the directly read variables are there.
        Assert.Contains("Neural__Storage__Provider", KnownSettings.EnvironmentNames);
        Assert.Contains("Neural__Storage__ConnectionString", KnownSettings.EnvironmentNames);
        Assert.Contains("Neural__Batcher__MaxBatchSize", KnownSettings.EnvironmentNames);
        Assert.Contains("Neural__UseCuda", KnownSettings.EnvironmentNames);
        Assert.Contains("NEURAL_API_KEYS", KnownSettings.EnvironmentNames);
        Assert.DoesNotContain("Neural__Storage", KnownSettings.EnvironmentNames);
        Assert.DoesNotContain("Neural__Storage__Typo", KnownSettings.EnvironmentNames);
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Storage_is_the_rendered_postgres(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var settings = r.Settings();
        Assert.Equal("postgres", settings["Neural__Storage__Provider"]);
        var cs = new DbConnectionStringBuilder { ConnectionString = settings["Neural__Storage__ConnectionString"] };
        var service = r.Get("Service", (string)cs["Host"]);
        var port = int.Parse((string)cs["Port"]);
        Assert.Contains(service.Path("spec", "ports").EnumerateArray(), p => p.GetProperty("port").GetInt32() == port);
        var db = r.Get("StatefulSet", "neural-postgres");
        foreach (var sel in service.Path("spec", "selector").EnumerateObject())
            Assert.Equal(sel.Value.GetString(), db.Path("spec", "template", "metadata", "labels").Str(sel.Name));
        Assert.Equal(service.Path("metadata").Str("name"), db.Path("spec").Str("serviceName"));
        // The API logs in with what the database container is initialised with.
        var dbSecret = r.Get("Secret", "neural-postgres").GetProperty("stringData");
        Assert.Equal(dbSecret.Str("POSTGRES_DB"), (string)cs["Database"]);
        Assert.Equal(dbSecret.Str("POSTGRES_USER"), (string)cs["Username"]);
        Assert.Equal(dbSecret.Str("POSTGRES_PASSWORD"), (string)cs["Password"]);
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Secrets_hold_marked_placeholders_only(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var api = r.Get("Secret", "neural-secrets").GetProperty("stringData");
        Assert.Contains("CHANGE-ME", api.Str("NEURAL_API_KEYS"));
        Assert.Contains("Password=CHANGE-ME", api.Str("Neural__Storage__ConnectionString"));
        Assert.StartsWith("CHANGE-ME", r.Get("Secret", "neural-postgres").GetProperty("stringData").Str("POSTGRES_PASSWORD"));
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Jobs_settings_point_at_rendered_objects(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var s = r.Settings();
        Assert.Equal("kubernetes", s["Jobs__Runner"]);
        Assert.Equal(r.ApiDeployment.Path("metadata").Str("namespace"), s["Jobs__Kubernetes__Namespace"]);
        Assert.Equal(r.ApiContainer.Str("image"), s["Jobs__Kubernetes__Image"]);
        Assert.True(r.Has("ServiceAccount", s["Jobs__Kubernetes__ServiceAccountName"]));
        Assert.True(r.Has("PersistentVolumeClaim", s["Jobs__Kubernetes__DataClaimName"]));
        Assert.Equal("/data", s["Jobs__Kubernetes__DataMountPath"]);
        var envFrom = r.ApiContainer.GetProperty("envFrom").EnumerateArray().ToList();
        Assert.Contains(envFrom, e => e.Has("configMapRef") && e.Path("configMapRef").Str("name") == s["Jobs__Kubernetes__ConfigMapName"]);
        Assert.Contains(envFrom, e => e.Has("secretRef") && e.Path("secretRef").Str("name") == s["Jobs__Kubernetes__SecretName"]);
        Assert.InRange(int.Parse(s["Jobs__Kubernetes__TtlSecondsAfterFinished"]), 1, 7 * 24 * 3600);
    }

    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Data_volume_is_read_write_many_when_replicated(string overlay)
    {
        var r = Rendered.Overlay(overlay);
        var replicas = Math.Max(r.ApiDeployment.Path("spec", "replicas").GetInt32(),
            r.Get("HorizontalPodAutoscaler", "neural-api").Path("spec", "maxReplicas").GetInt32());
        var modes = r.Get("PersistentVolumeClaim", "neural-data").Path("spec", "accessModes").EnumerateArray().Select(m => m.GetString()).ToList();
        if (replicas > 1) Assert.Contains("ReadWriteMany", modes);
        Assert.NotEmpty(modes);
    }
}
