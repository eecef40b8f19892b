// PromQL autocompletion for the /query expression boxes, as the Prometheus 3 web UI offers it: metric names,
// functions and aggregations where a name is typed; label names after "{" (and in by/without/on/ignoring lists);
// label values after =, !=, =~ and !~. Names and values come from the Prometheus API with a limit (label/__name__/values,
// labels, label/NAME/values, metadata), each asked once per page and kept. Suggestions are shown as text, never HTML.
(function () {
  "use strict";

  var API = "/prometheus/api/v1/";
  var NAME_LIMIT = 10000, LABEL_LIMIT = 1000, SHOWN = 50;
  var AGGREGATIONS = ["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"];
  var KEYWORDS = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"];
  var GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(\s*(?:[a-zA-Z_][a-zA-Z0-9_]*\s*,\s*)*([a-zA-Z_][a-zA-Z0-9_]*)?$/;

  var cache = {};
  // One request per URL per page; the answer's data (or [] on error) and whether the limit cut it short.
  function get(url) {
    if (!cache[url]) {
      cache[url] = fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (b) {
          if (b.status !== "success") return { data: [], truncated: false };
          return { data: b.data, truncated: (b.warnings || []).some(function (w) { return /truncated/.test(w); }) };
        })
        .catch(function () { delete cache[url]; return { data: [], truncated: false }; });
    }
    return cache[url];
  }

  function metricNames() { return get(API + "label/__name__/values?limit=" + NAME_LIMIT); }
  function metadata() { return get(API + "metadata?limit=" + NAME_LIMIT + "&limit_per_metric=1"); }
  function labelNames(metric) {
    return get(API + "labels?limit=" + LABEL_LIMIT + (metric ? "&match[]=" + encodeURIComponent(metric) : ""));
  }
  function labelValues(name, metric) {
    return get(API + "label/" + encodeURIComponent(name) + "/values?limit=" + LABEL_LIMIT + (metric ? "&match[]=" + encodeURIComponent(metric) : ""));
  }

  // Where the caret is in the expression: inside a string, which brace and paren it is in.
  function scan(text) {
    var st = { braceAt: -1, stringAt: -1, quote: "", bracket: false };
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (st.quote) {
        if (c === "\\") { i++; continue; }
        if (c === st.quote) { st.quote = ""; st.stringAt = -1; }
        continue;
      }
      if (c === "\"" || c === "'" || c === "`") { st.quote = c; st.stringAt = i; }
      else if (c === "{") st.braceAt = i;
      else if (c === "}") st.braceAt = -1;
      else if (c === "[") st.bracket = true;
      else if (c === "]") st.bracket = false;
      else if (c === "#") { var nl = text.indexOf("\n", i); if (nl < 0) { st.comment = true; return st; } i = nl; }
    }
    return st;
  }

  function metricBefore(text, braceAt) {
    var m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(text.slice(0, braceAt));
    return m ? m[1] : "";
  }

  // What to complete at the caret: { kind, prefix, from (index where the replaced text starts), ... } or null.
  function context(text) {
    var st = scan(text);
    if (st.comment) return null;
    var m;
    if (st.quote) {
      if (st.braceAt < 0 || st.stringAt < st.braceAt) return null;
      m = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(text.slice(st.braceAt + 1, st.stringAt));
      if (!m) return null;
      return { kind: "value", label: m[1], metric: metricBefore(text, st.braceAt), prefix: text.slice(st.stringAt + 1), from: st.stringAt + 1, quoted: st.quote };
    }
    if (st.bracket) return null;
    if (st.braceAt >= 0) {
      var inside = text.slice(st.braceAt + 1);
      m = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*$/.exec(inside);
      if (m) return { kind: "value", label: m[1], metric: metricBefore(text, st.braceAt), prefix: "", from: text.length, quoted: "" };
      m = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside);
      if (m) return { kind: "label", metric: metricBefore(text, st.braceAt), prefix: m[1] || "", from: text.length - (m[1] || "").length };
      return null;
    }
    m = GROUPING.exec(text);
    if (m) return { kind: "label", metric: "", prefix: m[2] || "", from: text.length - (m[2] || "").length };
    m = /([a-zA-Z_:][a-zA-Z0-9_:]*)$/.exec(text);
    if (!m) return null;
    // Not a name: the unit of a number or duration (5m, 1e3) or an offset.
    if (/[0-9.]$/.test(text.slice(0, text.length - m[1].length))) return null;
    return { kind: "name", prefix: m[1], from: text.length - m[1].length };
  }

  // Prefix matches first, then names that contain the text; case-insensitive, as Prometheus's UI ranks them.
  function rank(items, prefix, key) {
    var p = prefix.toLowerCase();
    var starts = [], contains = [];
    for (var i = 0; i < items.length; i++) {
      var s = key(items[i]).toLowerCase();
      if (p === "" || s.indexOf(p) === 0) starts.push(items[i]);
      else if (s.indexOf(p) > 0) contains.push(items[i]);
      if (starts.length >= SHOWN) break;
    }
    return starts.concat(contains).slice(0, SHOWN);
  }

  function suggestions(ctx, functions) {
    if (ctx.kind === "name") {
      return Promise.all([metricNames(), metadata()]).then(function (r) {
        var md = r[1].data || {};
        var items = (r[0].data || []).map(function (n) {
          var m = md[n] && md[n][0];
          return { text: n, kind: "metric", detail: m ? m.type + (m.help ? " · " + m.help : "") : "" };
        });
        AGGREGATIONS.forEach(function (a) { items.push({ text: a, kind: "aggregation", detail: "aggregation", suffix: "(" }); });
        functions.forEach(function (f) { items.push({ text: f, kind: "function", detail: "function", suffix: "(" }); });
        KEYWORDS.forEach(function (k) { items.push({ text: k, kind: "keyword", detail: "keyword" }); });
        return { items: rank(items, ctx.prefix, function (x) { return x.text; }), truncated: r[0].truncated };
      });
    }
    if (ctx.kind === "label") {
      return labelNames(ctx.metric).then(function (r) {
        var items = (r.data || []).filter(function (n) { return n !== "__name__"; }).map(function (n) { return { text: n, kind: "label", detail: "label" }; });
        return { items: rank(items, ctx.prefix, function (x) { return x.text; }), truncated: r.truncated };
      });
    }
    return labelValues(ctx.label, ctx.metric).then(function (r) {
      var items = (r.data || []).map(function (v) { return { text: v, kind: "value", detail: ctx.label + " value" }; });
      return { items: rank(items, ctx.prefix, function (x) { return x.text; }), truncated: r.truncated };
    });
  }

  // A label value as it goes between double quotes.
  function quote(v) { return v.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n"); }

  var seq = 0;
  function attach(area, functions) {
    var id = "wk-ac-" + (++seq);
    var box = document.createElement("ul");
    box.className = "wk-ac";
    box.id = id;
    box.setAttribute("role", "listbox");
    box.setAttribute("aria-label", "Suggestions");
    box.hidden = true;
    area.parentNode.appendChild(box);
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", id);
    area.setAttribute("aria-expanded", "false");
    var items = [], active = -1, ctx = null, ask = 0;

    function close() {
      ask++;
      box.hidden = true;
      box.textContent = "";
      items = [];
      active = -1;
      area.setAttribute("aria-expanded", "false");
      area.removeAttribute("aria-activedescendant");
    }
    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(box.children, function (li, k) { li.setAttribute("aria-selected", k === i ? "true" : "false"); });
      if (i >= 0 && box.children[i]) {
        area.setAttribute("aria-activedescendant", box.children[i].id);
        box.children[i].scrollIntoView({ block: "nearest" });
      }
    }
    function accept(i) {
      var it = items[i];
      if (!it || !ctx) return;
      var text = area.value, caret = area.selectionStart;
      var insert = it.text;
      var end = caret;
      if (ctx.kind === "value") {
        insert = ctx.quoted ? quote(it.text) : "\"" + quote(it.text) + "\"";
        // Inside an open string: the value and its closing quote (an existing one is kept).
        if (ctx.quoted) { if (text[end] === ctx.quoted) end++; insert += ctx.quoted; }
      } else {
        while (end < text.length && /[a-zA-Z0-9_:]/.test(text[end])) end++;
        if (it.suffix && text[end] !== "(") insert += it.suffix;
      }
      area.value = text.slice(0, ctx.from) + insert + text.slice(end);
      var pos = ctx.from + insert.length;
      area.setSelectionRange(pos, pos);
      close();
      area.focus();
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    function render(result) {
      box.textContent = "";
      items = result.items;
      if (!items.length) { close(); return; }
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.className = "wk-ac-" + it.kind;
        var name = document.createElement("span");
        name.className = "wk-ac-text";
        name.textContent = it.text;
        li.appendChild(name);
        if (it.detail) {
          var d = document.createElement("span");
          d.className = "wk-ac-detail";
          d.textContent = it.detail;
          li.appendChild(d);
        }
        li.addEventListener("mousedown", function (e) { e.preventDefault(); accept(i); });
        box.appendChild(li);
      });
      if (result.truncated) {
        var more = document.createElement("li");
        more.className = "wk-ac-more";
        more.setAttribute("aria-disabled", "true");
        more.textContent = "More exist than were loaded: type more of the name.";
        box.appendChild(more);
      }
      box.hidden = false;
      area.setAttribute("aria-expanded", "true");
      highlight(0);
    }
    function update() {
      if (area.selectionStart !== area.selectionEnd) { close(); return; }
      var c = context(area.value.slice(0, area.selectionStart));
      // A bare caret in empty space opens nothing; label names and values open as soon as their place is reached.
      if (!c || (c.kind === "name" && c.prefix.length === 0)) { close(); return; }
      ctx = c;
      var mine = ++ask;
      suggestions(c, functions).then(function (r) {
        if (mine !== ask) return;
        // What is typed is already the only suggestion: nothing to offer.
        if (r.items.length === 1 && r.items[0].text === c.prefix) r = { items: [], truncated: false };
        render(r);
      });
    }

    area.addEventListener("input", update);
    area.addEventListener("keydown", function (e) {
      if (e.key === " " && e.ctrlKey) { e.preventDefault(); update(); return; }
      if (box.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight((active + 1) % items.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if ((e.key === "Enter" || e.key === "Tab") && active >= 0 && !e.shiftKey) { e.preventDefault(); e.stopImmediatePropagation(); accept(active); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    area.addEventListener("blur", function () { setTimeout(close, 150); });
    area.addEventListener("click", close);
  }

  window.wkPromComplete = { attach: attach, context: context };
})();
