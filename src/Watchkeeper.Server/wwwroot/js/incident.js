// The incident page (Incidents/Ui/IncidentDetailPage.razor). Without this script the page works with ?tab= links
// and plain form posts; with it: tabs switch in place, SLA clocks count down, single actions post with fetch, and
// changes by others arrive as server-sent events that swap in only the changed parts (GET /incidents/{id}/live).
(() => {
  const root = document.getElementById('incident');
  if (!root) return;
  const id = root.dataset.incident;
  let version = Number(root.dataset.version);
  // The server's clock (a test may run it far from the browser's): countdowns run on the server's time.
  let offset = Number(root.dataset.now) - Date.now();

  // ---- tabs
  const tabs = [...document.querySelectorAll('#tabs [role=tab]')];
  const show = (name, push) => {
    if (!document.getElementById('panel-' + name)) return;
    tabs.forEach(t => {
      const on = t.dataset.tab === name;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.classList.toggle('active', on);
      document.getElementById('panel-' + t.dataset.tab).hidden = !on;
    });
    root.dataset.tab = name;
    if (push) {
      const u = new URL(location.href);
      u.searchParams.set('tab', name);
      u.hash = '';
      history.replaceState(null, '', u);
    }
  };
  tabs.forEach(t => t.addEventListener('click', e => { e.preventDefault(); show(t.dataset.tab, true); t.focus(); }));
  document.getElementById('tabs')?.addEventListener('keydown', e => {
    const i = tabs.indexOf(document.activeElement);
    if (i < 0 || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    show(next.dataset.tab, true);
    next.focus();
  });
  // A link to something on another tab (#update-form, #item-12) opens that tab.
  const reveal = () => {
    if (!location.hash) return;
    const el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    const panel = el?.closest('.tabpanel');
    if (panel) show(panel.id.replace('panel-', ''), false);
    const box = el?.closest('details');
    if (box) box.open = true;
    el?.scrollIntoView({ block: 'center' });
  };
  window.addEventListener('hashchange', reveal);
  reveal();
  document.addEventListener('click', e => {
    const a = e.target.closest('a[href]');
    if (!a) return;
    const u = new URL(a.href, location.href);
    if (u.pathname !== location.pathname || u.origin !== location.origin) return;
    const tab = u.searchParams.get('tab');
    if (!tab) return;
    e.preventDefault();
    show(tab, true);
    if (u.hash) { history.replaceState(null, '', u); reveal(); }
  });

  // ---- live SLA clocks
  const span = s => {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + (s % 60 ? ' ' + (s % 60) + 's' : '');
    const h = Math.floor(m / 60);
    if (h < 24) return h + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
    const d = Math.floor(h / 24);
    return d + 'd' + (h % 24 ? ' ' + (h % 24) + 'h' : '');
  };
  const tick = () => {
    const now = Date.now() + offset;
    document.querySelectorAll('.clock[data-state=running]').forEach(c => {
      const left = (Number(c.dataset.due) - now) / 1000;
      const big = c.querySelector('.big');
      if (left >= 0) big.textContent = span(left) + ' left';
      else { big.textContent = 'BREACHED ' + span(-left) + ' ago'; c.classList.add('breached'); c.classList.remove('running', 'soon'); }
    });
  };
  setInterval(tick, 1000);

  // ---- live parts
  let refreshing = null, again = false;
  const busy = el => {
    const a = document.activeElement;
    return a && el.contains(a) && ['INPUT', 'TEXTAREA', 'SELECT'].includes(a.tagName) && a.type !== 'checkbox' && a.type !== 'submit';
  };
  const refresh = async () => {
    if (refreshing) { again = true; return refreshing; }
    refreshing = (async () => {
      try {
        const r = await fetch('/incidents/' + id + '/live', { credentials: 'same-origin', headers: { Accept: 'text/html' } });
        if (!r.ok) return;
        const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
        const live = doc.getElementById('live-root');
        if (!live) return;
        version = Math.max(version, Number(live.dataset.version));
        root.dataset.version = String(version);
        offset = Number(live.dataset.now) - Date.now();
        live.querySelectorAll('[data-live][id]').forEach(part => {
          const here = document.getElementById(part.id);
          if (!here || busy(here)) return;
          // Keep which <details> the reader opened.
          const open = new Set([...here.querySelectorAll('details[open]')].map(d => d.id || d.dataset.update).filter(Boolean));
          const copy = document.importNode(part, true);
          copy.querySelectorAll('details').forEach(d => { if (open.has(d.id || d.dataset.update)) d.open = true; });
          here.replaceWith(copy);
        });
        tick();
      } catch (e) { /* offline: the next event or action refreshes */ }
    })();
    await refreshing;
    refreshing = null;
    if (again) { again = false; await refresh(); }
  };

  // ---- single actions in place
  const errorBox = msg => {
    let box = document.getElementById('inplace-error');
    if (!box) {
      box = document.createElement('div');
      box.id = 'inplace-error';
      box.className = 'error';
      box.setAttribute('role', 'alert');
      document.getElementById('tabs').before(box);
    }
    box.textContent = msg;
    box.hidden = !msg;
  };
  document.addEventListener('submit', async e => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-inplace') || !root.contains(form)) return;
    e.preventDefault();
    const li = form.closest('li[data-item]');
    if (li) li.classList.toggle('done', form.querySelector('input[name=done]')?.value === 'true');
    const buttons = form.querySelectorAll('button');
    try {
      const r = await fetch(form.action, { method: 'POST', body: new FormData(form), credentials: 'same-origin', headers: { 'X-Requested-With': 'fetch', Accept: 'application/problem+json' } });
      if (r.ok) {
        errorBox('');
        form.querySelectorAll('textarea').forEach(t => { t.value = ''; });
      } else {
        let msg = 'The change was not saved (HTTP ' + r.status + ').';
        try {
          const p = await r.json();
          const fields = p.errors ? Object.values(p.errors).flat() : [];
          msg = (p.detail || p.title || msg) + (fields.length && !p.detail ? ': ' + fields.join('; ') : '');
        } catch (x) { /* not JSON */ }
        errorBox(msg);
      }
    } catch (x) {
      errorBox('The change was not sent: the server did not answer. Try again.');
    } finally {
      setTimeout(() => buttons.forEach(b => { b.disabled = false; }), 0);
      await refresh();
    }
  });

  // ---- changes by others: server-sent events
  if ('EventSource' in window) {
    const notice = document.getElementById('changed');
    const es = new EventSource('/incidents/' + id + '/events?v=' + version);
    es.addEventListener('change', async ev => {
      let d = {};
      try { d = JSON.parse(ev.data); } catch (x) { return; }
      if (Number(d.version) <= version) return;
      await refresh();
      if (d.actor && d.actor !== root.dataset.user && notice) {
        notice.textContent = 'Updated by ' + d.actor + ' just now.';
        notice.hidden = false;
        clearTimeout(notice._t);
        notice._t = setTimeout(() => { notice.hidden = true; }, 8000);
      }
    });
    window.addEventListener('pagehide', () => es.close());
  }
})();
