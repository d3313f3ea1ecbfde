using NeuralService.Applications;

return AppRunner.Execute(args);
