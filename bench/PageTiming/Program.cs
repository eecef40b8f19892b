// Page timing in a real browser: loads URL N times in headless Chromium (Debian's, found on PATH) with the bearer token
// on every request, and prints per load the navigation timings and the moment the page was ready, then the medians.
// "Ready" is the first moment the ready selector matches (by default: the dashboard's charts script has drawn every
// chart and set the grid's data-charts attribute), noted by a script that runs before the page's own, on the page's
// clock from the start of the navigation.
//
//   dotnet run -c Release --project bench/PageTiming -- URL TOKEN [N=5] [READY_SELECTOR=#wk-dash-grid[data-charts]]
//   env: PAGETIMING_NEW_PAGE=1 (a new tab per load), PAGETIMING_RESOURCES=1 (each subresource's fetch)
using System.Globalization;
using Microsoft.Playwright;

if (args.Length < 2)
{
    await Console.Error.WriteLineAsync("usage: PageTiming URL TOKEN [N=5] [READY_SELECTOR]");
    return 2;
}
var url = args[0];
var token = args[1];
var n = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
var ready = args.Length > 3 ? args[3] : "#wk-dash-grid[data-charts]";
if (n is < 1 or > 100)
{
    await Console.Error.WriteLineAsync("N must be 1..100");
    return 2;
}
var chromium = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "chromium")).FirstOrDefault(File.Exists);
if (chromium is null)
{
    await Console.Error.WriteLineAsync("chromium is not on PATH (apt-get install chromium)");
    return 3;
}

using var pw = await Playwright.CreateAsync();
await using var browser = await pw.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
{
    ExecutablePath = chromium,
    Headless = true,
    Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
var context = await browser.NewContextAsync(new BrowserNewContextOptions
{
    ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
    ExtraHTTPHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
});
// Before any of the page's scripts: note (page clock) the first moment the ready selector matches.
await context.AddInitScriptAsync($$"""
    (() => {
      const sel = {{System.Text.Json.JsonSerializer.Serialize(ready)}};
      const check = () => { if (window.__wkReady === undefined && document.querySelector(sel)) window.__wkReady = performance.now(); };
      new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true });
      document.addEventListener('DOMContentLoaded', check);
    })();
    """);
var readyMs = new List<double>();
// One tab navigated N times (a user reloading the dashboard), or with PAGETIMING_NEW_PAGE=1 a new tab per load (a new
// renderer process each time, which on two cores competes with the server for the CPU).
var newPage = Environment.GetEnvironmentVariable("PAGETIMING_NEW_PAGE") == "1";
var tab = newPage ? null : await context.NewPageAsync();
for (var i = 1; i <= n; i++)
{
    var page = tab ?? await context.NewPageAsync();
    var response = await page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 300_000 });
    if (response is null || !response.Ok)
    {
        Console.WriteLine($"browser run {i}: HTTP {response?.Status}");
        if (newPage) await page.CloseAsync();
        continue;
    }
    await page.WaitForFunctionAsync("() => window.__wkReady !== undefined", null, new PageWaitForFunctionOptions { Timeout = 300_000 });
    // Navigation timing and the ready moment, in ms from the start of the navigation.
    var t = await page.EvaluateAsync<double[]>("""
        () => {
          const n = performance.getEntriesByType('navigation')[0];
          return [n.responseStart, n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd, window.__wkReady];
        }
        """);
    readyMs.Add(t[4]);
    if (Environment.GetEnvironmentVariable("PAGETIMING_RESOURCES") == "1")
    {
        // Where the time between the HTML and "ready" went: each subresource's fetch (start, end, bytes over the wire).
        var resources = await page.EvaluateAsync<string[]>(
            "() => performance.getEntriesByType('resource').map(r => `  ${r.name.replace(location.origin, '')}: ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)} ms, ${r.transferSize} B`)");
        foreach (var r in resources) Console.WriteLine(r);
    }
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"browser run {i}: first byte {t[0]:F0} ms, html {t[1]:F0} ms, DOMContentLoaded {t[2]:F0} ms, load {t[3]:F0} ms, ready {t[4]:F0} ms"));
    if (newPage) await page.CloseAsync();
}
if (readyMs.Count == 0) return 1;
readyMs.Sort();
var median = readyMs.Count % 2 == 1 ? readyMs[readyMs.Count / 2] : (readyMs[readyMs.Count / 2 - 1] + readyMs[readyMs.Count / 2]) / 2;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"browser ready: min {readyMs[0]:F0} ms, median {median:F0} ms, max {readyMs[^1]:F0} ms"));
return 0;
