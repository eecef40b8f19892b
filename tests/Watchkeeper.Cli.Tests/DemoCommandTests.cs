using System.Net;
using Watchkeeper.Server.Tests;

namespace Watchkeeper.Cli.Tests;

public sealed class DemoCommandTests
{
    [Fact]
    public async Task Demo_fault_down_makes_the_target_fail_and_clear_restores_it()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        using var http = s.Client();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/-/demo/api-service/metrics")).StatusCode);

        var down = await wk.RunAsync("demo", "fault", "api-service", "--down");
        Assert.True(down.Code == 0, down.ToString());
        Assert.Contains("api-service", down.Out);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/-/demo/api-service/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/-/demo/web-interface/metrics")).StatusCode);

        var rate = await wk.JsonAsync("demo", "fault", "api-service", "--error-rate", "0.3", "--latency", "800ms");
        Assert.Equal(0.3, rate.GetProperty("error_rate").GetDouble());
        Assert.Equal("800ms", rate.GetProperty("latency").GetString());

        Assert.Equal(0, (await wk.RunAsync("demo", "fault", "api-service", "--clear")).Code);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/-/demo/api-service/metrics")).StatusCode);
    }

    [Fact]
    public async Task Demo_fault_rejects_bad_input_with_one_line()
    {
        await using var s = await TestServer.StartAsync();
        var wk = await new Wk(s).LoginAsync();
        var none = await wk.RunAsync("demo", "fault", "api-service");
        Assert.Equal(2, none.Code);
        var rate = await wk.RunAsync("demo", "fault", "api-service", "--error-rate", "1.5");
        Assert.Equal(2, rate.Code);
        Assert.Contains("--error-rate", rate.Err);
        var unknown = await wk.RunAsync("demo", "fault", "billing", "--down");
        Assert.Equal(1, unknown.Code);
        Assert.Contains("no demo service 'billing'", unknown.Err);
        Assert.Single(unknown.Err.TrimEnd().Split('\n'));
    }
}
