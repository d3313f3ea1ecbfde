using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NeuralService.Cli.Tests.Docs;

/// <summary>Runs in-process with the working directory and console swapped, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(ReadmeSnippetTests), DisableParallelization = true)]
public sealed class ReadmeCollection;

/// <summary>Every <c>```csharp</c> block of README.md and docs/*.md, in order, as one program a reader would paste:
/// their <c>using</c> lines at the top and the rest as top-level statements, compiled once with Roslyn against the
/// built assemblies and run in a scratch directory. Blocks of one file share variables, as a reader reading on would.</summary>
[Collection(nameof(ReadmeSnippetTests))]
public sealed partial class ReadmeSnippetTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-readme");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Full-size settings the README shows, made small enough for a test; each must still be found, so a
    /// README edit that drops one is noticed here.</summary>
    private static readonly (string Shown, string Run)[] Quick =
    [
        ("BuiltinDatasets.Load(\"fashion-mnist\")", "BuiltinDatasets.Load(\"fashion-mnist\").Take([.. Enumerable.Range(0, 256)])"),
        ("Epochs = 5", "Epochs = 1"),
    ];

    [GeneratedRegex(@"^```csharp[ \t]*\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"^using\s+(static\s+)?[A-Za-z_][\w.]*\s*(=\s*[\w.<>, ]+)?;")]
    private static partial Regex UsingDirective();

    internal sealed record Block(string File, int Line, string Code);

    internal static IReadOnlyList<Block> Blocks(string root)
    {
        var files = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));
        var blocks = new List<Block>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file).ReplaceLineEndings("\n");
            foreach (Match m in CSharpBlock().Matches(text))
                blocks.Add(new Block(Path.GetRelativePath(root, file), text[..m.Groups[1].Index].Count(c => c == '\n') + 1, m.Groups[1].Value));
        }
        return blocks;
    }

    /// <summary>The program: using directives first (deduplicated), then each block's statements under a #line
    /// directive, so a compile error points at the README line.</summary>
    internal static string Program(IReadOnlyList<Block> blocks, out int replaced)
    {
        var usings = new SortedSet<string>(StringComparer.Ordinal);
        var body = new StringBuilder();
        replaced = 0;
        foreach (var block in blocks)
        {
            var lines = block.Code.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                if (UsingDirective().Match(line.Trim()) is { Success: true } u) { usings.Add(u.Value); continue; }
                foreach (var (shown, run) in Quick)
                    if (line.Contains(shown, StringComparison.Ordinal)) { line = line.Replace(shown, run, StringComparison.Ordinal); replaced |= 1 << Array.FindIndex(Quick, q => q.Shown == shown); }
                body.Append($"#line {block.Line + i} \"{block.File}\"\n").Append(line).Append('\n');
            }
        }
        // What `dotnet new console` puts in scope (ImplicitUsings), as in a reader's own project.
        var implicitUsings = new[] { "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks" }
            .Select(n => $"global using global::{n};");
        return string.Join("\n", implicitUsings.Concat(usings)) + "\n" + body;
    }

    [Fact]
    public void EveryCSharpBlockOfTheDocsCompilesAndRuns()
    {
        var root = CliRunner.RepoRoot();
        var blocks = Blocks(root);
        Assert.True(blocks.Count >= 2, "README.md has no ```csharp blocks");
        var source = Program(blocks, out var replaced);
        Assert.True(replaced == (1 << Quick.Length) - 1, $"a quick-run substitution no longer matches the README: {source}");

        // Everything the test host can load: the framework and the project's assemblies with their packages.
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !p.Contains("CodeAnalysis", StringComparison.Ordinal))
            .DistinctBy(Path.GetFileName)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("ReadmeSnippets",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: "README-program.cs")],
            references, new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var emitted = compilation.Emit(image);
        Assert.True(emitted.Success, "the docs' C# does not compile:\n" + string.Join("\n",
            emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString())));

        var context = new AssemblyLoadContext("readme", isCollectible: true);
        var entry = context.LoadFromStream(new MemoryStream(image.ToArray())).EntryPoint!;
        var console = Console.Out;
        var cwd = Directory.GetCurrentDirectory();
        var output = new StringWriter();
        try
        {
            Directory.SetCurrentDirectory(_dir.FullName);
            Console.SetOut(output);
            entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            throw new Xunit.Sdk.XunitException($"the docs' C# threw {inner}\noutput:\n{output}");
        }
        finally
        {
            Console.SetOut(console);
            Directory.SetCurrentDirectory(cwd);
            context.Unload();
        }

        // What the README says the blocks do: a summary table, an ONNX file, a training run that lowers the loss.
        var printed = output.ToString();
        Assert.Contains("Total params:", printed);
        Assert.True(File.Exists(Path.Combine(_dir.FullName, "cnn.onnx")), "README's OnnxModels.Save wrote no cnn.onnx");
        NeuralService.Graph.Tests.Support.OnnxChecker.CheckFiles([Path.Combine(_dir.FullName, "cnn.onnx")]);
        Assert.Matches(@"loss \d+\.\d{3} -> \d+\.\d{3}", printed);
    }
}
