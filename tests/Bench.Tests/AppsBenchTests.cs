namespace NeuralService.Bench.Tests;

public sealed class AppsBenchTests
{
    [Fact]
    public void The_PyTorch_result_is_the_last_JSON_line_of_stdout()
    {
        var stdout = "epoch 1/2 loss 0.5\n{\"not\": \"this\"}\n{\"app\":\"fashion-cnn\",\"metric\":\"accuracy\",\"value\":0.8812,\"train_seconds\":41.5,\"train_cpu_seconds\":80.25,\"epochs\":2}\n\n";
        var side = AppsBench.ParseTorchOutput(stdout, 50.25);
        Assert.Equal("accuracy", side.Metric);
        Assert.Equal(0.8812, side.Value);
        Assert.Equal(41.5, side.TrainSeconds);
        Assert.Equal(80.25, side.TrainCpuSeconds);
        Assert.Equal(50.25, side.WallSeconds);
        Assert.Equal(2, side.Epochs);
        Assert.Null(side.Note);
    }

    [Fact]
    public void A_last_line_that_is_not_JSON_is_reported_not_thrown()
    {
        var side = AppsBench.ParseTorchOutput("{\"metric\":\"accuracy\",\"value\":1}\nTraceback: boom\n", 3);
        Assert.Null(side.Value);
        Assert.StartsWith("last line is not JSON", side.Note);
    }

    [Fact]
    public void Our_metric_is_found_by_the_name_the_PyTorch_side_uses()
    {
        const string json = """{"name":"stock-lstm","wall_s":12.5,"loss":[0.3,0.2,0.1],"metrics":{"loss":0.01,"mae":0.05,"rmse_dollars":7.25,"train_s":9.5,"train_cpu_s":18}}""";
        var side = AppsBench.ParseAppResult(json, "rmse", 13.0);
        Assert.Equal(7.25, side.Value);
        Assert.Equal(9.5, side.TrainSeconds);
        Assert.Equal(18, side.TrainCpuSeconds);
        Assert.Equal(13.0, side.WallSeconds);
        Assert.Equal(3, side.Epochs);
        Assert.Equal(0.875, AppsBench.ParseAppResult("""{"metrics":{"loss":0.3,"accuracy":0.875}}""", null, 1).Value);
        Assert.Equal("no 'accuracy' in metrics", AppsBench.ParseAppResult("""{"metrics":{"loss":0.3}}""", "accuracy", 1).Note);
    }

    [Fact]
    public void A_python_without_torch_gives_a_skip_reason_instead_of_a_result()
    {
        // BENCH_PYTHON / --python pin the interpreter; `false` stands for one whose `import torch` fails.
        var options = AppsBench.Options.Parse(["apps", "--apps", "mnist-cnn"], "/bin/false");
        Assert.Equal(["/bin/false"], options.Pythons);
        var (python, reason) = AppsBench.FindTorchPython(options.Pythons);
        Assert.Null(python);
        Assert.Contains("/bin/false", reason);
        Assert.Equal(["python3", "/usr/bin/python3"], AppsBench.Options.Parse(["apps"], null).Pythons);
    }

    [Fact]
    public void Both_sides_get_the_same_epochs_seed_and_samples()
    {
        var options = AppsBench.Options.Parse(["apps", "--apps", "fashion-cnn, imdb-lstm", "--epochs", "3", "--samples", "600", "--seed", "7", "--rounds", "1"], null);
        Assert.Equal(["fashion-cnn", "imdb-lstm"], options.Apps);
        Assert.Equal(["--epochs", "3", "--seed", "7", "--samples", "600"], options.CommonArguments());
        Assert.Equal(1, options.Rounds);
        Assert.Empty(options.TorchArguments);
        Assert.Equal(["--lstm", "loop"], AppsBench.Options.Parse(["apps", "--torch-args", "--lstm loop"], null).TorchArguments);
        Assert.Equal(["--seed", "1"], AppsBench.Options.Parse(["apps"], null).CommonArguments());
    }

    [Fact]
    public void The_table_shows_every_round_and_the_ratio_of_mean_training_seconds()
    {
        var rows = new[]
        {
            new AppsBench.Row("fashion-cnn",
                [new("accuracy", 0.88, 60, 40, 80, 5, null), new("accuracy", 0.881, 70, 50, 100, 5, null)],
                [new("accuracy", 0.89, 80, 90, 120, 5, null), new("accuracy", 0.885, 85, 90, 150, 5, null)]),
            new AppsBench.Row("text-lstm", [new("accuracy", 0.7, 20, 15, null, 5, null)], [AppsBench.Side.Missing("no PyTorch script")]),
        };
        var lines = AppsBench.FormatTable(rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("| app | metric | NeuralService | PyTorch |", lines[0]);
        Assert.Equal("| fashion-cnn | accuracy | 0.8800 / 0.8810 | 0.8900 / 0.8850 | 40.0 / 50.0 | 90.0 / 90.0 | 60.0 / 70.0 | 80.0 / 85.0 | 2.00× (train) | 80.0 / 100.0 | 120.0 / 150.0 | 1.50× |", lines[2]);
        Assert.Equal("| text-lstm | accuracy | 0.7000 | no PyTorch script | 15.0 | no PyTorch script | 20.0 | no PyTorch script | – | – | no PyTorch script | – |", lines[3]);
    }
}
