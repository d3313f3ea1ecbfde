using NeuralService.Bench;

return BenchApp.Run(args);
