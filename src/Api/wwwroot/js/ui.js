// Small DOM helpers shared by the pages.
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export function showError(error) {
  const box = document.getElementById('alert');
  if (!error) { box.hidden = true; box.textContent = ''; return; }
  box.textContent = error.status === 401 || error.status === 403
    ? `${error.message} — enter an API key at the top of the page.`
    : error.message;
  box.hidden = false;
}

export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'number') return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(digits - 1) : v.toFixed(digits);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function fmtTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

export function stateBadge(state) {
  return `<span class="state state-${esc(state)}" data-state="${esc(state)}">${esc(state)}</span>`;
}

export function jobDuration(job) {
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  return (end - Date.parse(job.started_at)) / 1000;
}

// Lists are keyset-paginated: `tokens` holds the page_token of every page shown so far ('' for the first), so
// "previous" drops the last one and "next" appends the answer's next_page_token.
export function pageQuery(limit, tokens) {
  const token = tokens[tokens.length - 1];
  return `limit=${limit}${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
}

export function pagerHtml(tokens, nextToken) {
  return `
    <div class="row" style="margin-top:10px">
      <button type="button" id="prev" ${tokens.length > 1 ? '' : 'disabled'}>Previous page</button>
      <button type="button" id="next" ${nextToken ? '' : 'disabled'}>Next page</button>
    </div>`;
}

export function wirePager(main, tokens, nextToken, show) {
  main.querySelector('#prev').onclick = () => show(tokens.slice(0, -1));
  main.querySelector('#next').onclick = () => show([...tokens, nextToken]);
}

// A box that scrolls (a wide table on a phone, a long log or JSON) must be reachable by keyboard to be scrolled without
// a pointer (WCAG 2.1.1): each gets a tab stop and a name taken from its caption or section heading. Run on every change
// of the page, so boxes that pages draw later (pagers, live updates) get it too.
export function keyboardScrollers(root) {
  for (const box of root.querySelectorAll('.table-wrap:not([tabindex]), pre:not([tabindex])')) {
    box.tabIndex = 0;
    box.setAttribute('role', 'region');
    // Named apart from the section around it ("History table" in "History"), so that no two regions share a name.
    const name = box.closest('details')?.querySelector('summary')?.textContent
      || `${box.closest('section')?.querySelector('h2')?.textContent || document.querySelector('main h1')?.textContent || 'Scrollable'} ${box.matches('pre') ? 'text' : 'table'}`;
    box.setAttribute('aria-label', name.trim());
  }
}
