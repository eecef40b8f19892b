// Watchkeeper UI: a few progressive enhancements; every page works without them.
document.documentElement.classList.add('js');
document.addEventListener('DOMContentLoaded', () => {
  // Checklist checkboxes save as soon as they change (the button is kept for no-JS use; CSS hides it with JS on).
  // Delegated, so parts the incident page swaps in keep working.
  document.addEventListener('change', e => {
    const el = e.target;
    if (el instanceof HTMLInputElement && el.hasAttribute('data-autosubmit') && el.form) el.form.requestSubmit();
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
  // Tables become cards on a phone (CSS); each cell shows its column's heading there.
  document.querySelectorAll('main table').forEach(t => {
    const heads = [...t.querySelectorAll('thead th')].map(th => th.textContent.trim());
    if (!heads.length) return;
    t.querySelectorAll('tbody tr').forEach(tr => [...tr.children].forEach((td, i) => {
      if (!td.hasAttribute('data-label') && heads[i]) td.setAttribute('data-label', heads[i]);
    }));
  });
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
