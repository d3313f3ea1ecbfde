// The registry: models with their latest version and aliases, and a model's page (versions, aliases, lineage, signature).
import { api, enc } from './api.js';
import { esc, fmtNum, fmtTime, pageQuery, pagerHtml, wirePager } from './ui.js';

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

export async function modelPage(name, version, main) {
  const model = await api(`/v1/models/${enc(name)}`);
  const chosen = version ?? model.latest_version;
  const v = await api(`/v1/models/${enc(name)}/versions/${chosen}`);
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
            <td><a href="/v1/models/${enc(name)}/versions/${x.version}/onnx" download="${esc(name)}-v${x.version}.onnx">download</a></td>
          </tr>`).join('')}
        </tbody>
      </table></div>
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
      <h2>Signature</h2>
      <div class="table-wrap"><table id="signature">
        <thead><tr><th scope="col">Tensor</th><th scope="col">Type</th><th scope="col">Shape</th></tr></thead>
        <tbody><tr><th scope="rowgroup" colspan="3">Inputs</th></tr>${tensors(v.inputs)}<tr><th scope="rowgroup" colspan="3">Outputs</th></tr>${tensors(v.outputs)}</tbody>
      </table></div>
      ${lineage?.hyperparameters ? `<details><summary>Hyperparameters</summary><pre>${esc(JSON.stringify(lineage.hyperparameters, null, 2))}</pre></details>` : ''}
    </section>`;
}
