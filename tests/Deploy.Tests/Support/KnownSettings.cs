using System.Reflection;
using NeuralService.Api.Hosting;
using NeuralService.Api.Security;

namespace NeuralService.Deploy.Tests.Support;

/// <summary>Every environment variable name the service reads: the <c>Neural</c> options tree (by reflection over
/// <see cref="NeuralOptions"/>, so a renamed or removed option shows up here), the variables read directly, and the
/// <c>Jobs</c> section as published in the service contract.</summary>
public static class KnownSettings
{
    /// <summary>The Jobs section (Jobs:Runner, Jobs:Kubernetes:*) of the service contract.</summary>
    public static readonly string[] JobsKeys =
    [
        "Jobs__Runner",
        "Jobs__Kubernetes__Namespace",
        "Jobs__Kubernetes__Image",
        "Jobs__Kubernetes__ServiceAccountName",
        "Jobs__Kubernetes__DataClaimName",
        "Jobs__Kubernetes__DataMountPath",
        "Jobs__Kubernetes__ConfigMapName",
        "Jobs__Kubernetes__SecretName",
        "Jobs__Kubernetes__GpuResourceName",
        "Jobs__Kubernetes__TtlSecondsAfterFinished",
    ];

    public static IReadOnlySet<string> EnvironmentNames { get; } = Build();

    private static HashSet<string> Build()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "NEURAL_DATA_DIR", ApiKeys.EnvironmentVariable, "ASPNETCORE_URLS" };
        AddOptions(names, NeuralOptions.Section, typeof(NeuralOptions));
        names.UnionWith(JobsKeys);
        return names;
    }

    private static void AddOptions(HashSet<string> names, string prefix, Type type)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var name = $"{prefix}__{p.Name}";
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t.IsClass && t != typeof(string) && t.Namespace == typeof(NeuralOptions).Namespace) AddOptions(names, name, t);
            else names.Add(name);
        }
    }
}
