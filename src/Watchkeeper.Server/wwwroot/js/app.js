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
