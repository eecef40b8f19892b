// Dashboards: the server renders every panel (values, tables, SVG charts); this script makes time series interactive
// with uPlot (shared crosshair, drag to zoom, values under the cursor), shows times in the browser's zone when chosen,
// submits the pickers on change and refreshes the panels in place. Data is read from data-* attributes; everything is
// put into the page as text, never as HTML.
(function () {
  "use strict";

  var form = document.getElementById("wk-dash-form");
  if (!form) return;

  var fmt = window.wkUnits.format;

  // ---- time: 24-hour, UTC or the browser's zone ----
  var grid = document.getElementById("wk-dash-grid");
  function tz() { return grid && grid.getAttribute("data-tz") === "browser" ? "browser" : "utc"; }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function parts(ms) {
    var d = new Date(ms);
    return tz() === "utc"
      ? { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() }
      : { y: d.getFullYear(), mo: d.getMonth() + 1, d: d.getDate(), h: d.getHours(), mi: d.getMinutes(), s: d.getSeconds() };
  }
  function zoneName() {
    if (tz() === "utc") return "UTC";
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; } catch (e) { return "local"; }
  }
  function fmtTime(ms, withDate, withSec) {
    var p = parts(ms);
    var t = pad(p.h) + ":" + pad(p.mi) + (withSec ? ":" + pad(p.s) : "");
    return withDate ? p.y + "-" + pad(p.mo) + "-" + pad(p.d) + " " + t : t;
  }

  function showRange() {
    var el = document.querySelector(".wk-range");
    if (!el) return;
    var f = Number(el.getAttribute("data-from")), t = Number(el.getAttribute("data-to"));
    el.textContent = fmtTime(f, true, true) + " to " + fmtTime(t, true, true) + " " + zoneName();
  }

  // ---- charts ----
  // The y-axis is as wide as its longest label (units make labels long: "0.4 req/s", "1.5 GiB").
  function axisSize(u, values, axisIdx, cycleNum) {
    if (cycleNum > 1) return u.axes[axisIdx]._size;
    var longest = (values || []).reduce(function (n, v) { return Math.max(n, String(v).length); }, 0);
    return Math.max(40, Math.ceil(longest * 7.2) + 18);
  }
  var plots = [];
  function drawCharts() {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    if (!grid || grid.getAttribute("data-uplot") !== "bundled" || typeof window.uPlot !== "function") return;
    var css = getComputedStyle(document.documentElement);
    var line = css.getPropertyValue("--line").trim() || "rgba(128,128,128,0.3)";
    grid.querySelectorAll(".wk-ts[data-chart]").forEach(function (el) {
      var data;
      try { data = JSON.parse(el.getAttribute("data-chart")); } catch (e) { return; }
      if (!data.series.length) return;
      var panel = el.closest(".wk-dpanel");
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
        cursor: { sync: { key: "wk-dash", setSeries: false }, drag: { x: true, y: false } },
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
            if (u.select.width < 5) return;
            var from = Math.round(u.posToVal(u.select.left, "x") * 1000);
            var to = Math.round(u.posToVal(u.select.left + u.select.width, "x") * 1000);
            form.querySelector("#wk-quick").value = "";
            form.querySelector("#wk-from").value = String(from);
            form.querySelector("#wk-to").value = String(to);
            form.requestSubmit();
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
    grid.setAttribute("data-charts", String(plots.length));
  }

  var resizeTimer = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      plots.forEach(function (p) { p.setSize({ width: Math.max(p.root.parentElement.clientWidth, 200), height: p.height }); });
    }, 150);
  });

  // ---- pickers: apply on change ----
  form.querySelectorAll("select").forEach(function (s) {
    s.addEventListener("change", function () {
      if (s.id === "wk-tz") { grid.setAttribute("data-tz", s.value); }
      form.requestSubmit();
    });
  });
  ["wk-from", "wk-to"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) input.addEventListener("input", function () { document.getElementById("wk-quick").value = ""; });
  });

  // ---- auto-refresh: fetch the page again and swap the panels ----
  function refreshSeconds() {
    var r = grid ? grid.getAttribute("data-refresh") : "";
    var m = /^(\d+)(s|m|h)$/.exec(r || "");
    if (!m) return 0;
    return Number(m[1]) * (m[2] === "s" ? 1 : m[2] === "m" ? 60 : 3600);
  }
  function refresh() {
    if (document.hidden) return;
    fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("wk-dash-grid");
        var meta = doc.querySelector(".wk-meta");
        if (!next) return;
        grid.replaceWith(next);
        grid = next;
        if (meta) document.querySelector(".wk-meta").replaceWith(meta);
        showRange();
        drawCharts();
        grid.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* keep the last panels; the next tick tries again */ });
  }
  var every = refreshSeconds();
  if (every > 0) setInterval(refresh, every * 1000);

  showRange();
  drawCharts();
})();
