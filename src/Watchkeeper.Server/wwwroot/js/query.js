// The /query page: Enter executes the expression; the Graph tab draws the range query with uPlot.
// Everything from the server or the query result is put into the page as text, never as HTML.
(function () {
  "use strict";

  var expr = document.getElementById("wk-expr");
  if (expr) {
    expr.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        expr.form.requestSubmit();
      }
    });
  }

  var graph = document.getElementById("wk-graph");
  if (!graph) return;
  var status = graph.querySelector(".wk-graph-status");
  var chartEl = graph.querySelector(".wk-chart");
  var MAX_SERIES = 100;
  var PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#393b79", "#ad494a", "#637939", "#e6550d", "#756bb1", "#843c39", "#d6616b", "#3182bd", "#31a354", "#636363"];

  function setStatus(text, isError, detail) {
    status.textContent = "";
    if (!text) return;
    var box = document.createElement("div");
    box.className = isError ? "wk-error" : "wk-note";
    if (isError) box.setAttribute("role", "alert");
    var strong = document.createElement(isError ? "strong" : "span");
    strong.textContent = text;
    box.appendChild(strong);
    if (detail) box.appendChild(detail);
    status.appendChild(box);
  }

  // "parse error at char 5: ..." -> the expression's line with a caret under char 5.
  function caret(message, query) {
    var m = /parse error at char (\d+)/.exec(message);
    if (!m) return null;
    var pos = parseInt(m[1], 10) - 1;
    if (pos < 0 || pos > query.length) return null;
    var lineStart = query.lastIndexOf("\n", pos - 1) + 1;
    if (pos === 0) lineStart = 0;
    var lineEnd = query.indexOf("\n", pos);
    var pre = document.createElement("pre");
    pre.className = "wk-caret";
    pre.textContent = query.substring(lineStart, lineEnd < 0 ? query.length : lineEnd) + "\n" + " ".repeat(pos - lineStart) + "^";
    return pre;
  }

  // The labels every series shares (name and value), left out of each series' name and shown once above the chart.
  function commonLabels(result) {
    if (result.length < 2) return {};
    var common = Object.assign({}, result[0].metric);
    delete common.__name__;
    result.slice(1).forEach(function (s) {
      Object.keys(common).forEach(function (k) { if (s.metric[k] !== common[k]) delete common[k]; });
    });
    return common;
  }

  function seriesName(metric, common) {
    var name = metric.__name__ || "";
    var parts = [];
    Object.keys(metric).sort().forEach(function (k) {
      if (k !== "__name__" && !(k in common)) parts.push(k + "=" + JSON.stringify(metric[k]));
    });
    return parts.length === 0 && name ? name : name + "{" + parts.join(", ") + "}";
  }

  var unit = graph.getAttribute("data-unit") || "";
  function fmt(v) { return window.wkUnits ? window.wkUnits.format(v, unit) : String(v); }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  // 24-hour UTC, like the rest of Watchkeeper's pages; the date when the range is longer than a day.
  function utc(ts, withDate) {
    var d = new Date(ts * 1000);
    var t = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    return withDate ? d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " + t : t;
  }

  function toNumber(s) {
    var v = Number(s);
    return isFinite(v) ? v : null;
  }

  function draw(result, start, end, step) {
    var n = Math.floor((end - start) / step + 1e-9) + 1;
    var xs = new Array(n);
    for (var i = 0; i < n; i++) xs[i] = start + i * step;
    var shown = result.slice(0, MAX_SERIES);
    var data = [xs];
    var common = commonLabels(shown);
    var commonEl = graph.querySelector(".wk-common");
    var commonText = Object.keys(common).sort().map(function (k) { return k + "=" + JSON.stringify(common[k]); }).join(", ");
    if (commonEl && commonText) { commonEl.textContent = "Common to all series: " + commonText; commonEl.hidden = false; }
    // Without a cursor over the chart the legend shows each series' last value (not "--").
    var series = [{ value: function (u, v, si, idx) { return idx == null ? "last" : utc(v, true) + ":" + pad(new Date(v * 1000).getUTCSeconds()); } }];
    shown.forEach(function (s, idx) {
      var ys = new Array(n).fill(null);
      var last = null;
      s.values.forEach(function (p) {
        var k = Math.round((p[0] - start) / step);
        if (k >= 0 && k < n) { ys[k] = toNumber(p[1]); if (ys[k] !== null) last = ys[k]; }
      });
      data.push(ys);
      series.push({
        label: seriesName(s.metric, common), stroke: PALETTE[idx % PALETTE.length], width: 1.5, points: { show: false },
        value: function (u, v, si, i) { var x = i == null ? last : v; return x == null ? "–" : fmt(x); },
      });
    });

    // Axis and grid colours follow the page's (light or dark) colours.
    var css = getComputedStyle(document.documentElement);
    var fg = getComputedStyle(chartEl).color;
    var line = css.getPropertyValue("--line").trim() || "rgba(128,128,128,0.3)";
    function axis(extra) { return Object.assign({ stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } }, extra); }
    var opts = {
      width: Math.max(chartEl.clientWidth, 300),
      height: 360,
      series: series,
      scales: { x: { time: true } },
      // Times in UTC, like the rest of Watchkeeper's pages.
      tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      axes: [
        axis({ values: function (u, ticks) { return ticks.map(function (t) { var d = new Date(t * 1000); return utc(t, end - start > 86400 && d.getUTCHours() === 0 && d.getUTCMinutes() === 0); }); } }),
        axis({ values: function (u, ticks) { return ticks.map(fmt); }, size: function (u, values, i, cycle) {
          if (cycle > 1) return u.axes[i]._size;
          return Math.max(50, Math.ceil((values || []).reduce(function (n, v) { return Math.max(n, String(v).length); }, 0) * 7.2) + 18);
        } }),
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    chartEl.textContent = "";
    var plot = new window.uPlot(opts, data, chartEl);
    var resizeTimer = 0;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { plot.setSize({ width: Math.max(chartEl.clientWidth, 300), height: 360 }); }, 100);
    });
    graph.setAttribute("data-series", String(shown.length));
    graph.setAttribute("data-state", "drawn");
    if (result.length > MAX_SERIES) setStatus("Showing the first " + MAX_SERIES + " of " + result.length + " series; narrow the expression to see the rest.", false);
  }

  function run() {
    var query = graph.getAttribute("data-expr");
    var start = Number(graph.getAttribute("data-start"));
    var end = Number(graph.getAttribute("data-end"));
    var step = Number(graph.getAttribute("data-step"));
    if (graph.getAttribute("data-uplot") !== "bundled" || typeof window.uPlot !== "function") {
      graph.setAttribute("data-state", "error");
      setStatus("The charting library (uPlot) is not part of this build: it was built without npm. The Table tab still works.", true);
      return;
    }
    setStatus("Loading…", false);
    graph.setAttribute("data-state", "loading");
    var params = new URLSearchParams({ query: query, start: String(start), end: String(end), step: String(step) });
    fetch("/prometheus/api/v1/query_range?" + params.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) throw new Error("Your session has expired: reload the page to log in again.");
        return r.json().then(function (body) { return { http: r.status, body: body }; }, function () {
          throw new Error("The query API answered HTTP " + r.status + " without a JSON body.");
        });
      })
      .then(function (res) {
        var body = res.body;
        if (body.status !== "success") {
          graph.setAttribute("data-state", "error");
          var kind = body.errorType === "bad_data" && /parse error/.test(body.error || "") ? "Parse error" : "Query failed (" + (body.errorType || "HTTP " + res.http) + ")";
          setStatus(kind + ": " + (body.error || "unknown error"), true, caret(body.error || "", query));
          return;
        }
        setStatus("", false);
        var warn = (body.warnings || []).join("; ");
        if (body.data.result.length === 0) {
          graph.setAttribute("data-state", "empty");
          setStatus("Empty result: no series matched in this range.", false);
          return;
        }
        draw(body.data.result, start, end, step);
        if (warn) setStatus("Warning: " + warn, false);
      })
      .catch(function (e) {
        graph.setAttribute("data-state", "error");
        setStatus(e && e.message ? e.message : String(e), true);
      });
  }

  run();
})();
