using Watchkeeper.Server;

return await ServerHost.RunAsync(args);
