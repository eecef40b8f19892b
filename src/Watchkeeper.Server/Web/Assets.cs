namespace Watchkeeper.Server.Web;

/// <summary>The UI's stylesheet and script, served from memory with a long cache lifetime.</summary>
public static class Assets
{
    public const string Css = """
        :root {
          --bg: #f6f7f9; --panel: #fff; --text: #15181d; --muted: #5b6270; --line: #d9dde3; --accent: #1f5fbf;
          --sev1: #b3131b; --sev2: #d4570a; --sev3: #b88600; --sev4: #4d6a8a;
          --ok: #1b7f3b; --bad: #b3131b; --warn: #a86400; --info: #1f5fbf;
          --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
        }
        @media (prefers-color-scheme: dark) {
          :root { --bg: #111418; --panel: #1a1e24; --text: #e6e8eb; --muted: #9aa3af; --line: #2e343d; --accent: #6ea8ff;
                  --sev1: #ff4d55; --sev2: #ff8a3d; --sev3: #e8b923; --sev4: #8aa4c2; --ok: #3ccf6e; --bad: #ff4d55; --warn: #e8a23d; --info: #6ea8ff; }
        }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        html { font-size: 15px; }
        body { margin: 0; background: var(--bg); color: var(--text); font-family: var(--font); line-height: 1.4; }
        a { color: var(--accent); }
        header.top { display: flex; align-items: center; gap: 1.5rem; padding: .5rem 1.25rem; background: #0f1a2b; color: #fff; flex-wrap: wrap; }
        header.top a { color: #cfe0ff; text-decoration: none; }
        header.top .brand { font-weight: 700; font-size: 1.15rem; color: #fff; letter-spacing: .02em; }
        header.top nav { display: flex; gap: .25rem; flex: 1; flex-wrap: wrap; }
        header.top nav a { padding: .35rem .7rem; border-radius: 4px; }
        header.top nav a:hover, header.top nav a.active { background: #24395a; color: #fff; }
        header.top .who { display: flex; align-items: center; gap: .75rem; }
        header.top .who button.link { color: #cfe0ff; }
        main { padding: 1rem 1.25rem 2rem; max-width: 1500px; margin: 0 auto; }
        footer { color: var(--muted); font-size: .8rem; padding: 1rem 1.25rem; text-align: center; }
        h1 { font-size: 1.5rem; margin: .25rem 0 .75rem; }
        h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
        h3 { font-size: 1rem; margin: .8rem 0 .4rem; }
        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .9rem 1rem; margin-bottom: 1rem; }
        .muted { color: var(--muted); }
        .small { font-size: .85rem; }
        .error { background: #fde8e8; color: #7a0b10; border: 1px solid #f3a5a8; border-left: 6px solid var(--bad); padding: .7rem 1rem; border-radius: 4px; margin-bottom: 1rem; font-weight: 600; }
        .notice { background: #e7f5ec; color: #0f4d24; border: 1px solid #9fd8b3; border-left: 6px solid var(--ok); padding: .7rem 1rem; border-radius: 4px; margin-bottom: 1rem; }
        .readonly { background: #eef3fb; color: #1c3763; border: 1px solid #bcd0ee; padding: .5rem 1rem; border-radius: 4px; margin: 0 0 1rem; }
        @media (prefers-color-scheme: dark) {
          .error { background: #3a1214; color: #ffd6d8; border-color: #7a2328; }
          .notice { background: #10301c; color: #c9f2d6; border-color: #236b3c; }
          .readonly { background: #17253a; color: #cfe0ff; border-color: #2c4468; }
        }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
        tr:hover td { background: rgba(127,127,127,.06); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .nowrap { white-space: nowrap; }
        .sev { display: inline-block; min-width: 3.4em; text-align: center; font-weight: 700; padding: .1rem .45rem; border-radius: 4px; color: #fff; font-size: .85rem; }
        .sev-sev1 { background: var(--sev1); } .sev-sev2 { background: var(--sev2); } .sev-sev3 { background: var(--sev3); color: #1b1400; } .sev-sev4 { background: var(--sev4); }
        .status { display: inline-block; padding: .1rem .55rem; border-radius: 999px; font-weight: 600; font-size: .85rem; border: 2px solid currentColor; }
        .st-investigating { color: var(--bad); } .st-identified { color: var(--warn); } .st-monitoring { color: var(--info); } .st-resolved { color: var(--ok); }
        .big .status { font-size: 1.25rem; padding: .2rem .9rem; }
        .big .sev { font-size: 1.25rem; padding: .2rem .7rem; }
        .flag { display: inline-block; font-size: .75rem; font-weight: 700; padding: .05rem .4rem; border-radius: 3px; text-transform: uppercase; letter-spacing: .03em; }
        .flag.bad { background: var(--bad); color: #fff; } .flag.ok { background: var(--ok); color: #fff; } .flag.warn { background: var(--warn); color: #fff; } .flag.info { background: var(--info); color: #fff; }
        .role { font-size: .75rem; padding: .05rem .4rem; border-radius: 3px; background: #3a4a63; color: #fff; }
        .role-admin { background: #7a2a8c; } .role-responder { background: #1f6d3a; }
        form.inline { display: inline; margin: 0; }
        form.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
        label { display: block; font-weight: 600; font-size: .85rem; margin-bottom: .2rem; }
        label.check { display: flex; gap: .45rem; align-items: flex-start; font-weight: 400; font-size: .95rem; margin: 0; }
        .field { margin-bottom: .7rem; }
        .field .hint { font-weight: 400; color: var(--muted); font-size: .8rem; }
        input[type=text], input[type=password], input[type=date], input[type=datetime-local], input:not([type]), select, textarea {
          font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); color: var(--text); max-width: 100%; }
        textarea { width: 100%; min-height: 4.5rem; font-family: var(--font); }
        .wide { width: 100%; }
        [aria-invalid=true] { border: 2px solid var(--bad) !important; background: #fff5f5; }
        .field-error { color: var(--bad); font-weight: 600; font-size: .85rem; margin-top: .2rem; }
        button, .button { font: inherit; font-weight: 600; padding: .4rem .9rem; border-radius: 4px; border: 1px solid #1a4f9e; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
        button:hover { filter: brightness(1.08); }
        button.secondary, .button.secondary { background: transparent; color: var(--accent); border-color: var(--accent); }
        button.danger { background: var(--bad); border-color: var(--bad); }
        button.go-resolved { background: var(--ok); border-color: var(--ok); }
        button.go-investigating { background: var(--bad); border-color: var(--bad); }
        button.link { background: none; border: none; padding: 0; color: var(--accent); font-weight: 400; text-decoration: underline; }
        button:disabled { opacity: .5; cursor: not-allowed; }
        @media (prefers-color-scheme: dark) {
          button:where(:not(.secondary, .link)), .button:where(:not(.secondary)) { background: #2a5db0; border-color: #3b6fc4; }
          button.go-resolved { background: #1d7a3e; border-color: #1d7a3e; }
          button.danger, button.go-investigating { background: #c22a31; border-color: #c22a31; }
        }
        .grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1rem; align-items: start; }
        @media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } }
        .head { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
        .head h1 { margin: 0; flex: 1 1 30rem; }
        .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .5rem 1rem; margin-top: .8rem; }
        .facts div b { display: block; font-size: .75rem; text-transform: uppercase; color: var(--muted); letter-spacing: .04em; }
        .clocks { display: grid; grid-template-columns: 1fr 1fr; gap: .75rem; }
        .clock { border: 1px solid var(--line); border-left: 6px solid var(--info); border-radius: 4px; padding: .5rem .75rem; }
        .clock.breached { border-left-color: var(--bad); } .clock.met { border-left-color: var(--ok); } .clock.soon { border-left-color: var(--warn); }
        .clock .big { font-size: 1.35rem; font-weight: 700; font-variant-numeric: tabular-nums; }
        .clock.breached .big { color: var(--bad); } .clock.met .big { color: var(--ok); }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
        .timeline td.when { white-space: nowrap; font-variant-numeric: tabular-nums; color: var(--muted); width: 9.5rem; }
        .timeline td.kind { white-space: nowrap; width: 8rem; }
        .kind-tag { font-size: .75rem; padding: .05rem .35rem; border-radius: 3px; background: rgba(127,127,127,.15); }
        .timeline tr.k-note td.msg { font-weight: 600; }
        .timeline tr.k-sla_breach td { color: var(--bad); font-weight: 600; }
        .phase { border: 1px solid var(--line); border-radius: 4px; margin-bottom: .6rem; }
        .phase > .ph { display: flex; justify-content: space-between; gap: .5rem; padding: .35rem .6rem; background: rgba(127,127,127,.08); font-weight: 600; }
        .phase.overdue { border-color: var(--bad); } .phase.overdue > .ph { background: rgba(179,19,27,.12); }
        .phase.complete > .ph { background: rgba(27,127,59,.12); }
        .phase ul { list-style: none; margin: 0; padding: .3rem .6rem; }
        .phase li { padding: .2rem 0; display: flex; justify-content: space-between; gap: .5rem; align-items: flex-start; }
        .phase li .by { font-size: .8rem; color: var(--muted); white-space: nowrap; }
        .phase li.done .txt { text-decoration: line-through; color: var(--muted); }
        .phase li.overdue .txt { color: var(--bad); font-weight: 600; }
        .phase li form { flex: 1; }
        input[type=checkbox] { width: 1.15rem; height: 1.15rem; margin-top: .1rem; }
        pre.update, pre.md { white-space: pre-wrap; background: rgba(127,127,127,.07); border: 1px solid var(--line); border-radius: 4px; padding: .6rem .8rem; font-family: var(--mono); font-size: .85rem; margin: .3rem 0 0; }
        .update-item { border-bottom: 1px solid var(--line); padding: .5rem 0; }
        .markdown h1 { font-size: 1.3rem; } .markdown h2 { font-size: 1.1rem; margin-top: 1rem; }
        .pager { display: flex; gap: 1rem; align-items: center; margin-top: .75rem; }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: flex-end; }
        .filters .field { margin: 0; }
        .sevpick { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .5rem; }
        .sevpick label { font-weight: 400; border: 1px solid var(--line); border-radius: 4px; padding: .5rem .6rem; cursor: pointer; display: block; }
        .sevpick label:has(input:checked) { outline: 3px solid var(--accent); }
        .sevpick .desc { font-size: .82rem; color: var(--muted); display: block; margin-top: .25rem; }
        .changed { position: sticky; top: 0; z-index: 5; background: #fff4d6; color: #3b2f00; border: 1px solid #e0b84a; border-left: 6px solid var(--warn); padding: .6rem 1rem; border-radius: 4px; margin-bottom: 1rem; font-weight: 600; }
        .token-once { font-family: var(--mono); font-size: 1.05rem; padding: .6rem; background: #fff8d6; color: #3b2f00; border: 2px dashed #b88600; border-radius: 4px; word-break: break-all; }
        .chart { width: 100%; height: auto; }
        .chart text { fill: var(--muted); font-size: 11px; font-family: var(--font); }
        .legend { display: flex; gap: 1rem; flex-wrap: wrap; font-size: .85rem; }
        .legend i { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; margin-right: .3rem; vertical-align: -1px; }
        .over { color: var(--bad); font-weight: 700; } .under { color: var(--ok); font-weight: 700; }
        body.bare main { max-width: 24rem; margin: 12vh auto; }
        body.bare .panel { padding: 1.5rem; }
        body.bare h1 { text-align: center; }
        body.bare input { width: 100%; }
        body.bare button { width: 100%; margin-top: .5rem; padding: .6rem; }
        """;

    public const string Js = """
        // Watchkeeper UI: a few progressive enhancements; every page works without them.
        document.addEventListener('DOMContentLoaded', () => {
          // Checklist checkboxes save as soon as they change (the button is kept for no-JS use).
          document.querySelectorAll('input[data-autosubmit]').forEach(el => {
            el.addEventListener('change', () => el.form.requestSubmit());
            const b = el.form.querySelector('button.save');
            if (b) b.hidden = true;
          });
          // Confirm destructive or final actions.
          document.querySelectorAll('[data-confirm]').forEach(el => {
            el.addEventListener('click', e => { if (!confirm(el.getAttribute('data-confirm'))) e.preventDefault(); });
          });
          // Prevent double posts from double clicks at 3 a.m.
          document.querySelectorAll('form[method=post]').forEach(f => {
            f.addEventListener('submit', () => setTimeout(() => f.querySelectorAll('button[type=submit]').forEach(b => b.disabled = true), 0));
          });
          // Pages restored from the back/forward cache get their buttons back.
          window.addEventListener('pageshow', () => document.querySelectorAll('button[type=submit]').forEach(b => b.disabled = false));
          // Show the description of the chosen severity on the declare form.
          const sevs = document.querySelectorAll('input[name=severity]');
          sevs.forEach(r => r.addEventListener('change', () => {
            const ua = document.getElementById('users_affected'), bi = document.getElementById('business_impact');
            if (ua && !ua.dataset.touched) ua.placeholder = r.dataset.users || '';
            if (bi && !bi.dataset.touched) bi.placeholder = r.dataset.business || '';
          }));
          // The incident page watches for changes made by others and offers a reload (never reloads
          // by itself, so nothing being typed is lost).
          const inc = document.querySelector('[data-incident][data-version]');
          if (inc) {
            const id = inc.dataset.incident, seen = inc.dataset.version;
            const poll = async () => {
              try {
                const r = await fetch('/api/v1/incidents/' + id, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
                if (r.ok) {
                  const v = await r.json();
                  if (String(v.version) !== seen) { document.getElementById('changed').hidden = false; return; }
                }
              } catch (e) { /* offline: try again later */ }
              setTimeout(poll, 20000);
            };
            setTimeout(poll, 20000);
          }
          // Lists refresh themselves unless someone is typing in a filter.
          const auto = document.querySelector('[data-autorefresh]');
          if (auto) setInterval(() => {
            const a = document.activeElement;
            if (!a || !['INPUT', 'SELECT', 'TEXTAREA'].includes(a.tagName)) location.reload();
          }, Number(auto.dataset.autorefresh) * 1000);
          ['users_affected', 'business_impact'].forEach(id => {
            const el = document.getElementById(id);
            if (el) el.addEventListener('input', () => el.dataset.touched = '1');
          });
        });
        """;

    public static void MapAssets(this WebApplication app)
    {
        app.MapGet("/ui/app.css", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Css, "text/css; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/ui/app.js", (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Js, "text/javascript; charset=utf-8");
        }).AllowAnonymous().ExcludeFromDescription();
    }
}
