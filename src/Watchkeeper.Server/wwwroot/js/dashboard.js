// Dashboards: the server renders every panel (values, tables, SVG charts); js/charts.js makes time series interactive
// with uPlot (shared crosshair, drag to zoom, values under the cursor); this script shows times in the browser's zone when chosen,
// submits the pickers on change and refreshes the panels in place. Data is read from data-* attributes; everything is
// put into the page as text, never as HTML.
(function () {
  "use strict";

  var form = document.getElementById("wk-dash-form");
  if (!form) return;

  // ---- time: 24-hour, UTC or the browser's zone ----
  var grid = document.getElementById("wk-dash-grid");
  function tz() { return grid && grid.getAttribute("data-tz") === "browser" ? "browser" : "utc"; }
  function zoneName() {
    if (tz() === "utc") return "UTC";
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "local"; } catch (e) { return "local"; }
  }

  // ---- charts (js/charts.js): a drag across a chart zooms the whole dashboard ----
  var charts = window.wkCharts.create({
    tz: tz,
    syncKey: "wk-dash",
    onSelect: function (from, to) {
      form.querySelector("#wk-quick").value = "";
      form.querySelector("#wk-from").value = String(from);
      form.querySelector("#wk-to").value = String(to);
      form.requestSubmit();
    },
  });
  var fmtTime = charts.fmtTime;

  function showRange() {
    var el = document.querySelector(".wk-range");
    if (!el) return;
    var f = Number(el.getAttribute("data-from")), t = Number(el.getAttribute("data-to"));
    el.textContent = fmtTime(f, true, true) + " to " + fmtTime(t, true, true) + " " + zoneName();
  }

  function drawCharts() {
    var n = charts.draw(grid);
    if (grid) grid.setAttribute("data-charts", String(n));
  }

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
