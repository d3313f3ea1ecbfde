using System.Text;

namespace NeuralService.Training.Data;

/// <summary>Texts with class labels; <see cref="ClassNames"/>[label] names each class.</summary>
public sealed record LabeledTexts(string[] Texts, long[] Labels, IReadOnlyList<string> ClassNames)
{
    public int Count => Texts.Length;
}

/// <summary>Labeled text corpora from folders and fortune files.</summary>
public static class TextData
{
    public const string FortunesDirectory = "/usr/share/games/fortunes";

    /// <summary>
    /// Fortune files (Debian's <c>fortunes</c>): each category is one file whose entries are separated by lines holding
    /// only <c>%</c>; the category is the label. Index files (<c>.dat</c>), <c>.u8</c> links and sub-folders are skipped.
    /// </summary>
    public static LabeledTexts LoadFortunes(string? directory = null, IReadOnlyList<string>? categories = null)
    {
        directory ??= FortunesDirectory;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"fortunes folder not found: {directory} (install Debian's package fortunes or fortunes-min)");
        var names = categories?.ToArray() ?? Directory.GetFiles(directory)
            .Where(f => Path.GetExtension(f).Length == 0 && new FileInfo(f).LinkTarget is null)
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0) throw new DataFormatException($"{directory}: no fortune files");
        var texts = new List<string>();
        var labels = new List<long>();
        for (int c = 0; c < names.Length; c++)
        {
            var file = Path.Combine(directory, names[c]);
            if (!File.Exists(file)) throw new FileNotFoundException($"fortune category '{names[c]}' not found in {directory}", file);
            foreach (var entry in SplitFortunes(File.ReadLines(file, Encoding.UTF8)))
            {
                texts.Add(entry);
                labels.Add(c);
            }
        }
        return new LabeledTexts(texts.ToArray(), labels.ToArray(), names);
    }

    /// <summary>Entries of a fortune file: text between <c>%</c> lines, trailing newlines removed, empty entries dropped.</summary>
    public static IEnumerable<string> SplitFortunes(IEnumerable<string> lines)
    {
        var sb = new StringBuilder();
        foreach (var line in lines)
        {
            if (line == "%")
            {
                if (sb.ToString().Trim().Length > 0) yield return sb.ToString().TrimEnd('\n');
                sb.Clear();
            }
            else sb.Append(line).Append('\n');
        }
        if (sb.ToString().Trim().Length > 0) yield return sb.ToString().TrimEnd('\n');
    }

    /// <summary>Keras's <c>text_dataset_from_directory</c>: one sub-folder per class (sorted names), each .txt file one sample.</summary>
    public static LabeledTexts LoadFolder(string directory, string extension = ".txt")
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"text folder not found: {directory}");
        var classes = Directory.GetDirectories(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new DataFormatException($"{directory}: no class sub-folders");
        var texts = new List<string>();
        var labels = new List<long>();
        for (int c = 0; c < classes.Length; c++)
            foreach (var f in Directory.EnumerateFiles(Path.Combine(directory, classes[c]), "*" + extension, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                texts.Add(File.ReadAllText(f, Encoding.UTF8));
                labels.Add(c);
            }
        return new LabeledTexts(texts.ToArray(), labels.ToArray(), classes);
    }
}
