using Watchkeeper.Cli;

return await WkApp.RunAsync(args, WkConsole.FromProcess());
