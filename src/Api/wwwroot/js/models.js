// The registry: models with their latest version and aliases, and a model's page (versions, alias controls, lineage,
// signature, Keras-style architecture summary, and a try-it panel from tryit.js).
import { api, apiKey, enc } from './api.js';
import { esc, fmtNum, fmtTime, pageQuery, pagerHtml, wirePager, showError } from './ui.js';
import { tryIt } from './tryit.js';

const PAGE = 50;

const aliasList = (aliases) => Object.entries(aliases ?? {}).sort(([a], [b]) => a.localeCompare(b));

export async function modelsPage(_m, main, tokens = ['']) {
  const list = await api(`/v1/models?${pageQuery(PAGE, tokens)}`);
  main.innerHTML = `
    <h1>Models</h1>
    <div class="table-wrap"><table id="models">
      <thead><tr><th scope="col">Name</th><th scope="col" class="num">Latest version</th><th scope="col">Aliases</th><th scope="col">Description</th><th scope="col">Created</th></tr></thead>
      <tbody>${list.models.map((m) => `
        <tr data-model="${esc(m.name)}" data-latest="${m.latest_version ?? ''}">
          <td><a href="#/models/${enc(m.name)}">${esc(m.name)}</a></td>
          <td class="num">${m.latest_version ?? ''}</td>
          <td class="aliases">${aliasList(m.aliases).map(([a, v]) => `<span data-alias="${esc(a)}" data-version="${v}">${esc(a)} → v${v}</span>`).join(', ')}</td>
          <td>${esc(m.description)}</td>
          <td>${esc(fmtTime(m.created_at))}</td>
        </tr>`).join('') || '<tr><td colspan="5">No models registered yet.</td></tr>'}
      </tbody>
    </table></div>${pagerHtml(tokens, list.next_page_token)}`;
  wirePager(main, tokens, list.next_page_token, (t) => modelsPage(null, main, t));
}

const shape = (t) => `[${(t.shape ?? []).map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
const tensors = (list) => list.map((t) => `<tr><td>${esc(t.name)}</td><td>${esc(t.datatype)}</td><td>${esc(shape(t))}</td></tr>`).join('');
const int = (n) => Number(n).toLocaleString('en-US');

// Whether this server wants an API key for changes; asked once per page load.
let authInfo = null;
const auth = () => (authInfo ??= api('/v1/auth').catch(() => ({ api_keys: true })));

/** Read-only: the server takes changes only with a key and this session has none. */
async function readOnly() {
  return (await auth()).api_keys && !apiKey.get();
}

function summaryHtml(s) {
  const connected = s.layers.some((l) => l.connected_to);
  return `
    <p class="muted" id="summary-source">Model “${esc(s.name)}”, ${s.source === 'keras_config'
      ? 'from the Keras config stored by its training job'
      : 'read from the ONNX graph (nodes grouped by name scope; parameters are the float initializers)'}.</p>
    <div class="table-wrap"><table id="summary" data-source="${esc(s.source)}">
      <thead><tr><th scope="col">Layer (type)</th><th scope="col">Output shape</th><th scope="col" class="num">Param #</th>${connected ? '<th scope="col">Connected to</th>' : ''}</tr></thead>
      <tbody>${s.layers.map((l) => `
        <tr data-layer="${esc(l.name)}" data-params="${l.params}"><td>${esc(l.name)} <span class="muted">(${esc(l.type)})</span></td>
          <td><code>${esc(l.output_shape)}</code></td><td class="num">${int(l.params)}</td>${connected ? `<td>${esc((l.connected_to ?? []).join(', ') || '-')}</td>` : ''}</tr>`).join('')}
      </tbody>
      <tfoot>
        <tr><th scope="row" colspan="2">Total params</th><td class="num" id="total-params" data-value="${s.total_params}">${int(s.total_params)}</td>${connected ? '<td></td>' : ''}</tr>
        <tr><th scope="row" colspan="2">Trainable params</th><td class="num" id="trainable-params" data-value="${s.trainable_params}">${int(s.trainable_params)}</td>${connected ? '<td></td>' : ''}</tr>
        <tr><th scope="row" colspan="2">Non-trainable params</th><td class="num" id="non-trainable-params" data-value="${s.non_trainable_params}">${int(s.non_trainable_params)}</td>${connected ? '<td></td>' : ''}</tr>
      </tfoot>
    </table></div>
    <p class="muted">Parameter memory: ${esc(s.total_size)} (float32).</p>
    <details><summary>As model.summary() prints it</summary><pre id="summary-text">${esc(s.text)}</pre></details>`;
}

function aliasesHtml(name, model, shown, ro) {
  const aliases = aliasList(model.aliases);
  return `
    <ul id="alias-list" class="aliases-list">${aliases.map(([a, n]) => `
      <li data-alias="${esc(a)}" data-version="${n}"><strong>${esc(a)}</strong> → <a href="#/models/${enc(name)}/${n}">v${n}</a>
        <button type="button" class="danger alias-remove" data-alias="${esc(a)}" aria-label="Remove alias ${esc(a)}"${ro ? ' hidden' : ''}>Remove</button></li>`).join('')
      || '<li class="muted">No aliases yet.</li>'}
    </ul>
    <form id="alias-form" class="inline-form">
      <fieldset id="alias-fields"${ro ? ' disabled' : ''}>
        <legend>Set or move an alias</legend>
        <span class="pair"><label for="alias-name">Alias</label>
        <input id="alias-name" name="alias" required list="alias-names" placeholder="production" autocomplete="off"></span>
        <datalist id="alias-names">${aliases.map(([a]) => `<option value="${esc(a)}"></option>`).join('')}</datalist>
        <span class="pair"><label for="alias-version">Version</label>
        <select id="alias-version">${[...model.versions].reverse().map((x) =>
          `<option value="${x.version}"${x.version === shown ? ' selected' : ''}>v${x.version}</option>`).join('')}</select></span>
        <button type="submit" id="alias-set">Set alias</button>
      </fieldset>
      <p id="alias-readonly" class="muted"${ro ? '' : ' hidden'}>Read-only: enter an API key at the top of the page to change aliases.</p>
      <p id="alias-status" class="muted" aria-live="polite"></p>
    </form>`;
}

export async function modelPage(name, version, main, status = '') {
  const model = await api(`/v1/models/${enc(name)}`);
  const chosen = version ?? model.latest_version;
  const [v, summary, ro] = await Promise.all([
    api(`/v1/models/${enc(name)}/versions/${chosen}`),
    api(`/v1/models/${enc(name)}/versions/${chosen}/summary`).catch((e) => ({ error: e })),
    readOnly(),
  ]);
  const byVersion = new Map();
  for (const [a, n] of aliasList(model.aliases)) byVersion.set(n, [...(byVersion.get(n) ?? []), a]);
  const lineage = v.lineage;
  main.innerHTML = `
    <h1>Model <span id="model-name">${esc(model.name)}</span></h1>
    ${model.description ? `<p>${esc(model.description)}</p>` : ''}
    <section aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      <div class="table-wrap"><table id="versions">
        <thead><tr><th scope="col" class="num">Version</th><th scope="col">Aliases</th><th scope="col">Created</th><th scope="col" class="num">Size</th><th scope="col">Training job</th><th scope="col">ONNX</th></tr></thead>
        <tbody>${[...model.versions].reverse().map((x) => `
          <tr data-version="${x.version}"${x.version === v.version ? ' aria-current="true"' : ''}>
            <td class="num"><a href="#/models/${enc(name)}/${x.version}">v${x.version}</a>${x.version === v.version ? ' <span class="muted">(shown)</span>' : ''}</td>
            <td class="aliases">${(byVersion.get(x.version) ?? []).map((a) => `<span data-alias="${esc(a)}">${esc(a)}</span>`).join(', ')}</td>
            <td>${esc(fmtTime(x.created_at))}</td>
            <td class="num">${(x.size_bytes / 1024).toFixed(1)} KiB</td>
            <td>${x.lineage?.training_job_id ? `<a href="#/jobs/${enc(x.lineage.training_job_id)}">${esc(x.lineage.training_job_id)}</a>` : ''}</td>
            <td><a href="/v1/models/${enc(name)}/versions/${x.version}/onnx" download="${esc(name)}-v${x.version}.onnx" aria-label="Download v${x.version} as ONNX">download</a></td>
          </tr>`).join('')}
        </tbody>
      </table></div>
    </section>
    <section aria-labelledby="aliases-h">
      <h2 id="aliases-h">Aliases</h2>
      ${aliasesHtml(name, model, v.version, ro)}
    </section>
    <section aria-labelledby="version-h">
      <h2 id="version-h">Version ${v.version}</h2>
      <dl class="facts" id="version-facts">
        <dt>SHA-256</dt><dd><code>${esc(v.sha256)}</code></dd>
        <dt>Opset</dt><dd>${v.opset}</dd>
        <dt>Created</dt><dd>${esc(fmtTime(v.created_at))}</dd>
        ${lineage?.training_job_id ? `<dt>Training job</dt><dd><a href="#/jobs/${enc(lineage.training_job_id)}">${esc(lineage.training_job_id)}</a></dd>` : ''}
        ${lineage?.dataset ? `<dt>Dataset</dt><dd>${esc(lineage.dataset)}</dd>` : ''}
        ${lineage?.final_metrics ? `<dt>Final metrics</dt><dd id="final-metrics">${Object.entries(lineage.final_metrics).map(([k, x]) => `<span data-metric="${esc(k)}" data-value="${x}">${esc(k)} ${esc(fmtNum(x))}</span>`).join(' · ')}</dd>` : ''}
        <dt>Download</dt><dd><a id="onnx-link" href="/v1/models/${enc(name)}/versions/${v.version}/onnx" download="${esc(name)}-v${v.version}.onnx">${esc(name)}-v${v.version}.onnx</a></dd>
      </dl>
      <h3>Signature</h3>
      <div class="table-wrap"><table id="signature">
        <thead><tr><th scope="col">Tensor</th><th scope="col">Type</th><th scope="col">Shape</th></tr></thead>
        <tbody><tr><th scope="rowgroup" colspan="3">Inputs</th></tr>${tensors(v.inputs)}<tr><th scope="rowgroup" colspan="3">Outputs</th></tr>${tensors(v.outputs)}</tbody>
      </table></div>
      ${lineage?.hyperparameters ? `<details><summary>Hyperparameters</summary><pre>${esc(JSON.stringify(lineage.hyperparameters, null, 2))}</pre></details>` : ''}
    </section>
    <section aria-labelledby="arch-h">
      <h2 id="arch-h">Architecture</h2>
      ${summary.error ? `<p class="muted" id="summary-error">No summary: ${esc(summary.error.message)}</p>` : summaryHtml(summary)}
    </section>
    <section aria-labelledby="tryit-h" id="tryit"></section>`;

  await wireAliases(name, version, main, status);
  return tryIt(name, v, main.querySelector('#tryit'));
}

let keyListener = null;

async function wireAliases(name, version, main, status) {
  const fields = main.querySelector('#alias-fields');
  const note = main.querySelector('#alias-readonly');
  const removes = [...main.querySelectorAll('.alias-remove')];
  const out = main.querySelector('#alias-status');
  out.textContent = status;
  const refresh = async () => {
    const ro = await readOnly();
    fields.disabled = ro;
    note.hidden = !ro;
    for (const b of removes) b.hidden = ro;
  };
  // The key box lives outside the page: a key entered there enables the controls at once.
  const form = document.getElementById('key-form');
  if (keyListener) form?.removeEventListener('submit', keyListener);
  keyListener = () => setTimeout(refresh, 0);
  form?.addEventListener('submit', keyListener);

  const change = async (path, init, done) => {
    showError(null);
    try {
      await api(path, init);
      await modelPage(name, version, main, done);
    } catch (e) {
      showError(e);
      out.textContent = `Not changed: ${e.message}`;
    }
  };
  main.querySelector('#alias-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const alias = main.querySelector('#alias-name').value.trim();
    const to = Number(main.querySelector('#alias-version').value);
    change(`/v1/models/${enc(name)}/aliases/${enc(alias)}`, { method: 'PUT', body: { version: to } }, `${alias} now points at v${to}.`);
  });
  for (const b of removes) {
    b.addEventListener('click', () => {
      const alias = b.dataset.alias;
      change(`/v1/models/${enc(name)}/aliases/${enc(alias)}`, { method: 'DELETE' }, `${alias} removed.`);
    });
  }
}
