// The dashboard's entry: hash routing (#/jobs, #/jobs/{id}, #/submit, #/models, #/models/{name}) and the API-key box.
import { apiKey } from './api.js';
import { showError, keyboardScrollers } from './ui.js';
import { jobsPage, jobPage } from './jobs.js';
import { modelsPage, modelPage } from './models.js';
import { submitPage } from './submit.js';

const routes = [
  [/^#?\/?$/, (m, main) => jobsPage(m, main)],
  [/^#\/jobs$/, (m, main) => jobsPage(m, main)],
  [/^#\/submit$/, (m, main) => submitPage(m, main)],
  [/^#\/jobs\/([^/]+)$/, (m, main) => jobPage(decodeURIComponent(m[1]), main)],
  [/^#\/models$/, (m, main) => modelsPage(m, main)],
  [/^#\/models\/([^/]+)(?:\/(\d+))?$/, (m, main) => modelPage(decodeURIComponent(m[1]), m[2] ? Number(m[2]) : null, main)],
];

let leave = null;
let visits = 0;

async function route() {
  const main = document.getElementById('main');
  const visit = ++visits;
  if (leave) { leave(); leave = null; }
  showError(null);
  const hash = location.hash || '#/jobs';
  const section = hash.startsWith('#/models') ? 'models' : hash.startsWith('#/submit') ? 'submit' : 'jobs';
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  // Each visit renders into its own view: a page still loading when the hash changes again (the submit page waits
  // for specs and datasets) finishes into a view no longer shown, not over the page that replaced it.
  const view = document.createElement('div');
  main.replaceChildren(view);
  for (const [pattern, page] of routes) {
    const m = hash.match(pattern);
    if (!m) continue;
    try {
      const left = (await page(m, view)) || null;
      if (visit === visits) leave = left; else if (left) left();
    } catch (e) {
      if (visit !== visits) return;
      view.innerHTML = '<h1>Could not load this page</h1>';
      showError(e);
    }
    return;
  }
  view.innerHTML = '<h1>Not found</h1><p><a href="#/jobs">Jobs</a></p>';
}

function keyBox() {
  const form = document.getElementById('key-form');
  const input = document.getElementById('api-key');
  const state = document.getElementById('key-state');
  let keysOn = true; // until the server says otherwise
  const show = () => { state.textContent = apiKey.get() ? 'key set for this session' : keysOn ? 'read-only' : 'no key needed'; };
  fetch('/v1/auth').then((r) => (r.ok ? r.json() : { api_keys: true })).then((a) => { keysOn = a.api_keys; show(); }).catch(() => {});
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey.set(input.value.trim());
    input.value = '';
    show();
  });
  show();
}

keyBox();
const main = document.getElementById('main');
new MutationObserver(() => keyboardScrollers(main)).observe(main, { childList: true, subtree: true });
window.addEventListener('hashchange', route);
route();
