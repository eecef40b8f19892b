// The /query page over the server-rendered panels: Enter executes, autocompletion (js/promql-complete.js), the metrics
// explorer, calendar pickers for the end and evaluation times, and the interactive charts (js/charts.js) where a drag
// across a graph zooms that panel. Everything from the server or the API is put into the page as text, never as HTML.
(function () {
  "use strict";

  var form = document.getElementById("wk-query-form");
  if (!form) return;
  var functions = (form.getAttribute("data-functions") || "").split(" ").filter(Boolean);
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // ---- expression boxes: completion first, so that Enter on a suggestion takes it instead of executing ----
  form.querySelectorAll("textarea.wk-expr").forEach(function (expr) {
    if (window.wkPromComplete) window.wkPromComplete.attach(expr, functions);
    expr.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit(expr.closest(".wk-qpanel").querySelector("button.wk-exec"));
      }
    });
  });

  // ---- time pickers: a calendar next to each End / Evaluation time box; the choice is UTC ----
  function isoUtc(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  form.querySelectorAll("input[data-time-input]").forEach(function (input) {
    var picker = document.createElement("input");
    picker.type = "datetime-local";
    picker.step = "1";
    picker.className = "wk-picker";
    picker.setAttribute("aria-label", "Pick the " + (input.name.indexOf("end") >= 0 ? "end" : "evaluation") + " time (UTC)");
    picker.title = "Pick a time (UTC)";
    var ms = Number(input.getAttribute("data-ms"));
    if (isFinite(ms) && ms > 0) picker.value = isoUtc(ms);
    picker.addEventListener("change", function () {
      if (!picker.value) return;
      input.value = (picker.value.length === 16 ? picker.value + ":00" : picker.value) + "Z";
      form.requestSubmit(input.closest(".wk-qpanel").querySelector("button.wk-exec"));
    });
    input.closest("label").after(picker);
  });

  // ---- charts: a drag across a graph sets that panel's end and range ----
  function durationText(ms) {
    var s = Math.max(Math.round(ms / 1000), 1), out = "";
    [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]].forEach(function (u) {
      if (s >= u[1]) { out += Math.floor(s / u[1]) + u[0]; s %= u[1]; }
    });
    return out;
  }
  if (window.wkCharts) {
    var charts = window.wkCharts.create({
      syncKey: "wk-query",
      onSelect: function (from, to, el) {
        var panel = el.closest(".wk-qpanel");
        var range = panel.querySelector("select[name$='.range_input']");
        var end = panel.querySelector("input[name$='.end_input']");
        if (!range || !end) return;
        var r = durationText(to - from);
        var opt = document.createElement("option");
        opt.value = r;
        opt.textContent = r;
        range.appendChild(opt);
        range.value = r;
        end.value = isoUtc(to) + "Z";
        form.requestSubmit(panel.querySelector("button.wk-exec"));
      },
    });
    form.setAttribute("data-charts", String(charts.draw(form)));
  }

  // ---- metrics explorer: every metric name with its type and help; choosing one inserts it ----
  var dialog = document.getElementById("wk-explorer");
  if (!dialog || typeof dialog.showModal !== "function") return;
  var search = document.getElementById("wk-explorer-search");
  var list = dialog.querySelector(".wk-explorer-list");
  var count = dialog.querySelector(".wk-explorer-count");
  var target = null, metrics = null, SHOWN = 300;

  function api(path) {
    return fetch("/prometheus/api/v1/" + path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }
  function load() {
    if (metrics) return Promise.resolve(metrics);
    count.textContent = "Loading…";
    return Promise.all([api("label/__name__/values?limit=10000"), api("metadata?limit=10000&limit_per_metric=1")]).then(function (r) {
      var md = r[1].status === "success" ? r[1].data : {};
      var names = r[0].status === "success" ? r[0].data : [];
      metrics = names.map(function (n) {
        var m = md[n] && md[n][0];
        return { name: n, type: m ? m.type : "", help: m ? m.help : "", unit: m ? m.unit : "" };
      });
      metrics.truncated = (r[0].warnings || []).length > 0;
      return metrics;
    });
  }
  function insert(name) {
    var t = target;
    dialog.close();
    if (!t) return;
    var a = t.selectionStart, b = t.selectionEnd;
    t.value = t.value.slice(0, a) + name + t.value.slice(b);
    t.setSelectionRange(a + name.length, a + name.length);
    t.focus();
  }
  function show() {
    var q = search.value.trim().toLowerCase();
    var words = q.split(/\s+/).filter(Boolean);
    var found = metrics.filter(function (m) {
      var hay = (m.name + " " + m.help).toLowerCase();
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
    list.textContent = "";
    found.slice(0, SHOWN).forEach(function (m) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.className = "wk-explorer-pick";
      b.setAttribute("data-metric", m.name);
      var n = document.createElement("span");
      n.className = "wk-explorer-name";
      n.textContent = m.name;
      b.appendChild(n);
      if (m.type) {
        var t = document.createElement("span");
        t.className = "wk-explorer-type";
        t.textContent = m.type + (m.unit ? " · " + m.unit : "");
        b.appendChild(t);
      }
      var h = document.createElement("span");
      h.className = "wk-explorer-help";
      h.textContent = m.help || "(no metadata: not from a scrape target, or the target sends no HELP)";
      b.appendChild(h);
      b.addEventListener("click", function () { insert(m.name); });
      li.appendChild(b);
      list.appendChild(li);
    });
    count.textContent = found.length + " of " + metrics.length + " metrics" + (found.length > SHOWN ? ", the first " + SHOWN + " shown: search to narrow" : "") +
      (metrics.truncated ? " (the first 10,000 names were loaded)" : "");
  }
  form.querySelectorAll(".wk-explore-open").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      target = document.getElementById(button.getAttribute("data-target"));
      search.value = "";
      list.textContent = "";
      dialog.showModal();
      search.focus();
      load().then(show, function () { count.textContent = "The metric names could not be loaded."; });
    });
  });
  search.addEventListener("input", function () { if (metrics) show(); });
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      e.preventDefault();
      var first = list.querySelector(".wk-explorer-pick");
      if (first) first.click();
    }
  });
  dialog.querySelector(".wk-explorer-close").addEventListener("click", function () { dialog.close(); });
})();
