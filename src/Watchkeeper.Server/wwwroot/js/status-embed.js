/* Watchkeeper status notice for other sites (seed 2.3 users.in_app).
   <script src="https://status.example.org/status/embed.js" async></script>
   Shows a banner at the top of the page while a component is not operational or a public incident is open, from
   /status/api/v2/notice.json on the same server as this script. Text only (textContent), dismissible per update. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !me.src || !window.fetch) return;
  var base = new URL(me.src, document.baseURI);
  var url = new URL("/status/api/v2/notice.json", base.origin);
  var colours = { minor: "#9a5b00", major: "#c2410c", critical: "#b3131b", maintenance: "#1f5fbf" };
  function show(n) {
    if (!n || !n.active) return;
    var key = "wk-status-dismissed";
    try { if (sessionStorage.getItem(key) === n.id) return; } catch (e) { /* storage may be blocked */ }
    var bar = document.createElement("div");
    bar.setAttribute("role", "status");
    bar.id = "wk-status-notice";
    var s = bar.style;
    s.position = "relative"; s.zIndex = "2147483000"; s.display = "flex"; s.gap = "0.75em"; s.alignItems = "baseline";
    s.flexWrap = "wrap"; s.padding = "0.6em 1em"; s.font = "14px/1.4 system-ui, sans-serif"; s.color = "#fff";
    s.background = colours[n.indicator] || "#9a5b00";
    var title = document.createElement("strong");
    title.textContent = n.title || "Service notice";
    var msg = document.createElement("span");
    msg.textContent = n.message || "";
    msg.style.flex = "1 1 16em";
    var link = document.createElement("a");
    link.href = n.url || new URL("/status", base.origin).href;
    link.textContent = "Status page";
    link.style.color = "#fff";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Dismiss";
    close.setAttribute("aria-label", "Dismiss the status notice");
    close.style.cssText = "background:transparent;color:#fff;border:1px solid #fff;border-radius:3px;padding:0.1em 0.6em;cursor:pointer;font:inherit";
    close.addEventListener("click", function () {
      try { sessionStorage.setItem(key, n.id); } catch (e) { /* ignore */ }
      bar.remove();
    });
    bar.append(title, msg, link, close);
    document.body.insertBefore(bar, document.body.firstChild);
  }
  function load() {
    fetch(url.href, { credentials: "omit", cache: "no-cache" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(show)
      .catch(function () { /* the notice is optional: a failure shows nothing */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load); else load();
})();
