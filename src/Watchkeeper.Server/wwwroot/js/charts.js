// Interactive time-series charts, shared by the dashboards and /query: the server renders each chart as SVG with its
// legend (so the page is readable without JavaScript) and its data in data-chart; this turns every .wk-ts[data-chart]
// under a root into a uPlot chart (crosshair synced per page, drag to zoom, values under the cursor, click a legend
// row to show only that series). Everything is put into the page as text, never as HTML.
(function () {
  "use strict";

  var fmt = window.wkUnits.format;
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // The y-axis is as wide as its longest label (units make labels long: "0.4 req/s", "1.5 GiB").
  function axisSize(u, values, axisIdx, cycleNum) {
    if (cycleNum > 1) return u.axes[axisIdx]._size;
    var longest = (values || []).reduce(function (n, v) { return Math.max(n, String(v).length); }, 0);
    return Math.max(40, Math.ceil(longest * 7.2) + 18);
  }

  // options: tz() -> "utc" | "browser"; syncKey; onSelect(fromMs, toMs, chartEl) after a drag across a chart.
  function create(options) {
    var tz = options.tz || function () { return "utc"; };
    function parts(ms) {
      var d = new Date(ms);
      return tz() === "utc"
        ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
        : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
    }
    function fmtTime(ms, withDate, withSec) {
      var p = parts(ms);
      var t = pad(p.h) + ":" + pad(p.mi) + (withSec ? ":" + pad(p.s) : "");
      return withDate ? p.y + "-" + pad(p.mo) + "-" + pad(p.d) + " " + t : t;
    }

    var plots = [];
    function draw(root) {
      plots.forEach(function (p) { p.destroy(); });
      plots = [];
      if (!root || root.getAttribute("data-uplot") !== "bundled" || typeof window.uPlot !== "function") return 0;
      var css = getComputedStyle(document.documentElement);
      var line = css.getPropertyValue("--line").trim() || "rgba(128,128,128,0.3)";
      root.querySelectorAll(".wk-ts[data-chart]").forEach(function (el) {
        var data;
        try { data = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
        if (!data.series.length) return;
        var panel = el.closest(".wk-dpanel, [data-chart-panel]") || el.parentElement;
        var hover = panel.querySelector(".wk-hover");
        var legendRows = panel.querySelectorAll(".wk-legend tbody tr");
        var height = Number(el.getAttribute("data-height")) || 200;
        var range = data.times.length > 1 ? data.times[data.times.length - 1] - data.times[0] : 0;
        var fg = getComputedStyle(el).color;
        var series = [{}];
        var cols = [data.times];
        data.series.forEach(function (s) {
          series.push({ label: s.name, stroke: s.color, width: 1.5, points: { show: false }, spanGaps: false });
          cols.push(s.values);
        });
        var yScale = { auto: true };
        if (data.min !== undefined || data.max !== undefined) {
          yScale = { range: function (u, mn, mx) { return [data.min !== undefined ? data.min : Math.min(mn, 0), data.max !== undefined ? data.max : mx]; } };
        }
        var opts = {
          width: Math.max(el.clientWidth, 200),
          height: height,
          series: series,
          legend: { show: false },
          scales: { x: { time: true }, y: yScale },
          cursor: { sync: { key: options.syncKey || "wk-charts", setSeries: false }, drag: { x: true, y: false } },
          axes: [
            { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 },
              values: function (u, ticks) { return ticks.map(function (t) { return fmtTime(t * 1000, range > 86400 && (parts(t * 1000).h === 0 && parts(t * 1000).mi === 0), false); }); } },
            { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 }, size: axisSize,
              values: function (u, ticks) { return ticks.map(function (v) { return fmt(v, data.unit, data.decimals); }); } },
          ],
          hooks: {
            setCursor: [function (u) {
              var i = u.cursor.idx;
              if (!hover) return;
              if (i === null || i === undefined) { hover.textContent = ""; return; }
              var pairs = [];
              for (var k = 1; k < u.series.length && pairs.length < 6; k++) {
                var v = u.data[k][i];
                if (v !== null && v !== undefined) pairs.push(u.series[k].label + ": " + fmt(v, data.unit, data.decimals));
              }
              hover.textContent = fmtTime(u.data[0][i] * 1000, true, true) + "  " + pairs.join("  ·  ");
            }],
            setSelect: [function (u) {
              if (u.select.width < 5 || !options.onSelect) return;
              var from = Math.round(u.posToVal(u.select.left, "x") * 1000);
              var to = Math.round(u.posToVal(u.select.left + u.select.width, "x") * 1000);
              options.onSelect(from, to, el);
            }],
          },
        };
        el.textContent = "";
        var plot = new window.uPlot(opts, cols, el);
        el.setAttribute("data-state", "drawn");
        // Clicking a legend row shows only that series (again: all).
        legendRows.forEach(function (row) {
          row.style.cursor = "pointer";
          row.addEventListener("click", function () {
            var idx = Number(row.getAttribute("data-series")) + 1;
            var solo = !row.classList.contains("wk-solo");
            legendRows.forEach(function (r) { r.classList.remove("wk-solo"); r.classList.toggle("wk-dim", solo && r !== row); });
            if (solo) row.classList.add("wk-solo");
            for (var k = 1; k < plot.series.length; k++) plot.setSeries(k, { show: !solo || k === idx });
          });
        });
        plots.push(plot);
      });
      return plots.length;
    }

    var resizeTimer = 0;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () {
        plots.forEach(function (p) { p.setSize({ width: Math.max(p.root.parentElement.clientWidth, 200), height: p.height }); });
      }, 150);
    });

    return { draw: draw, fmtTime: fmtTime };
  }

  window.wkCharts = { create: create };
})();
