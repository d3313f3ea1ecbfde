// Submit: a form for POST /v1/jobs. The model comes from a shipped spec (GET /v1/specs) or pasted Keras JSON, the
// dataset from GET /v1/datasets or an upload made here. The server validates; its problem details name the field
// (`errors`, keyed by the request's JSON member path), and the message is shown next to that field.
import { api, apiKey, enc, ApiError } from './api.js';
import { esc, showError } from './ui.js';

const OPTIMIZERS = ['adam', 'sgd', 'adamw', 'rmsprop', 'adagrad', 'adadelta', 'adamax', 'nadam'];
const LOSSES = ['sparse_categorical_crossentropy', 'categorical_crossentropy', 'binary_crossentropy', 'mean_squared_error',
  'mean_absolute_error', 'huber', 'kl_divergence'];

function field(name, label, control, hint = '') {
  const id = `f-${name.replace(/[^a-z0-9]+/g, '-')}`;
  return `
    <div class="field" data-field="${esc(name)}">
      <label for="${id}">${esc(label)}</label>
      ${control.replace('$ID', id).replace('$HINT', hint ? `aria-describedby="${id}-hint"` : '')}
      ${hint ? `<p class="hint" id="${id}-hint">${hint}</p>` : ''}
    </div>`;
}

function datasetLabel(d) {
  const shape = `[${(d.feature_shape || []).join(', ')}]`;
  const labels = d.label_shape ? '' : ', no labels';
  return `${d.name} — ${d.samples} × ${shape}${labels}${d.builtin ? '' : ` (${d.id})`}`;
}

async function allDatasets() {
  const all = [];
  let token = '';
  for (let i = 0; i < 20; i++) {
    const page = await api(`/v1/datasets?limit=1000${token ? `&page_token=${enc(token)}` : ''}`);
    all.push(...page.datasets);
    if (!page.next_page_token) break;
    token = page.next_page_token;
  }
  return all;
}

export async function submitPage(_m, main) {
  const [specs, datasets] = await Promise.all([api('/v1/specs'), allDatasets()]);
  main.innerHTML = `
    <h1>Submit a training job</h1>
    <p class="muted">Empty fields take the service's defaults; the service checks the job before it queues it.</p>
    <form id="submit-form" novalidate>
      <div class="form-cols">
      <fieldset>
        <legend>Model</legend>
        ${field('spec', 'Start from a spec', `<select id="$ID" $HINT><option value="">None: paste Keras JSON below</option>${specs.specs.map((s) =>
          `<option value="${esc(s.name)}">${esc(s.name)}</option>`).join('')}</select>`, 'Shipped architectures (onnx-models/specs); choosing one fills in its JSON.')}
        ${field('model', 'Keras model JSON', '<textarea id="$ID" rows="9" spellcheck="false" autocomplete="off" $HINT></textarea>',
          'As <code>model.to_json()</code> writes it.')}
      </fieldset>
      <fieldset>
        <legend>Data</legend>
        ${field('dataset', 'Dataset', `<select id="$ID" $HINT></select>`, 'Built-in sets and uploads; or upload one below.')}
        <details id="upload">
          <summary>Upload a dataset</summary>
          <div class="grid">
            ${field('upload.file', 'Features file', '<input id="$ID" type="file" $HINT>', 'CSV (label in a column), NPY, NPZ, IDX or gzipped IDX.')}
            ${field('upload.labels', 'Labels file (optional)', '<input id="$ID" type="file">')}
            ${field('upload.name', 'Name', '<input id="$ID" type="text" autocomplete="off" $HINT>', 'Default: the file name.')}
            ${field('upload.format', 'Format', '<select id="$ID"><option value="">from the file name</option><option>csv</option><option>npy</option><option>npz</option><option>idx</option></select>')}
            ${field('upload.label_column', 'CSV label column', '<input id="$ID" type="text" autocomplete="off" $HINT>', 'Default: the last column.')}
            ${field('upload.label_type', 'Label type', '<select id="$ID"><option value="int64">int64 (class indices)</option><option value="float32">float32 (values)</option></select>')}
          </div>
          <div class="row"><button type="button" id="upload-button">Upload</button></div>
        </details>
        <p id="upload-state" class="hint" aria-live="polite"></p>
        <div class="grid">
          ${field('validation_dataset', 'Validation dataset', `<select id="$ID" $HINT></select>`, 'Evaluated after every epoch (Keras validation_data).')}
          ${field('fit.validation_split', 'Validation split', '<input id="$ID" type="number" min="0" max="0.99" step="any" inputmode="decimal" placeholder="0" $HINT>',
            'Fraction of the data held out, 0 to 0.99.')}
          ${field('rescale', 'Rescale features by', '<input id="$ID" type="number" step="any" inputmode="decimal" placeholder="1" $HINT>',
            '0.00392156862745098 (1/255) for image bytes.')}
          <div class="field check" data-field="fit.shuffle"><input id="f-fit-shuffle" type="checkbox" checked><label for="f-fit-shuffle">Shuffle every epoch</label></div>
        </div>
      </fieldset>
      <fieldset>
        <legend>Training</legend>
        <div class="grid">
          ${field('compile.optimizer', 'Optimizer', '<input id="$ID" type="text" list="optimizers" value="adam" autocomplete="off" spellcheck="false">')}
          ${field('compile.learning_rate', 'Learning rate', '<input id="$ID" type="number" min="0" step="any" inputmode="decimal" placeholder="optimizer default" $HINT>',
            'Empty: the optimizer\'s default.')}
          ${field('compile.loss', 'Loss', '<input id="$ID" type="text" list="losses" value="sparse_categorical_crossentropy" autocomplete="off" spellcheck="false" $HINT>',
            'Keras name; a JSON list or object for several outputs.')}
          ${field('compile.metrics', 'Metrics', '<input id="$ID" type="text" value="accuracy" autocomplete="off" spellcheck="false" $HINT>',
            'Comma-separated (accuracy, mae…); may be empty.')}
          ${field('fit.epochs', 'Epochs', '<input id="$ID" type="number" min="1" step="1" inputmode="numeric" value="5">')}
          ${field('fit.batch_size', 'Batch size', '<input id="$ID" type="number" min="1" step="1" inputmode="numeric" value="32">')}
          ${field('seed', 'Seed', '<input id="$ID" type="number" step="1" inputmode="numeric" value="0">')}
          ${field('device', 'Device', '<input id="$ID" type="text" list="devices" placeholder="service default" autocomplete="off" $HINT>', 'cpu or cuda.')}
        </div>
        <datalist id="optimizers">${OPTIMIZERS.map((o) => `<option value="${o}">`).join('')}</datalist>
        <datalist id="losses">${LOSSES.map((o) => `<option value="${o}">`).join('')}</datalist>
        <datalist id="devices"><option value="cpu"><option value="cuda"></datalist>
      </fieldset>
      <fieldset>
        <legend>Result</legend>
        ${field('register_as', 'Register the trained model as', '<input id="$ID" type="text" autocomplete="off" spellcheck="false" $HINT>',
          'Registry name: letters, digits, ".", "_" or "-".')}
      </fieldset>
      </div>
      <div id="form-error" class="form-error" role="alert" hidden></div>
      <div class="row"><button type="submit" class="primary" id="submit-button">Start training</button><span id="submit-state" aria-live="polite"></span></div>
    </form>`;

  const form = main.querySelector('#submit-form');
  const $ = (name) => form.querySelector(`[data-field="${name}"] input, [data-field="${name}"] select, [data-field="${name}"] textarea`);
  const specDescription = form.querySelector('#f-spec-hint');
  const specHint = specDescription.textContent;

  const fillDatasets = (selected) => {
    const options = (list) => list.map((d) => `<option value="${esc(d.builtin ? d.name : d.id)}">${esc(datasetLabel(d))}</option>`).join('');
    const builtin = datasets.filter((d) => d.builtin);
    const uploaded = datasets.filter((d) => !d.builtin);
    const groups = `${builtin.length ? `<optgroup label="Built-in">${options(builtin)}</optgroup>` : ''}${uploaded.length ? `<optgroup label="Uploaded">${options(uploaded)}</optgroup>` : ''}`;
    const keep = selected ?? $('dataset').value;
    $('dataset').innerHTML = `<option value="">Choose a dataset</option>${groups}`;
    $('validation_dataset').innerHTML = `<option value="">None</option>${groups}`;
    if (keep) $('dataset').value = keep;
  };
  fillDatasets();

  $('spec').addEventListener('change', async () => {
    const name = $('spec').value;
    if (!name) { specDescription.textContent = specHint; return; }
    let spec;
    try { spec = await api(`/v1/specs/${enc(name)}`); } catch (e) { showError(e); return; }
    $('model').value = JSON.stringify(spec.model, null, 1);
    specDescription.textContent = spec.description;
    if (!$('register_as').value) $('register_as').value = name.replace(/_/g, '-');
  });

  main.querySelector('#upload-button').addEventListener('click', async () => {
    const state = main.querySelector('#upload-state');
    clearErrors(form);
    const file = $('upload.file').files[0];
    if (!file) { showFieldErrors(form, { 'upload.file': ['choose a file to upload'] }); return; }
    const data = new FormData();
    data.append('file', file);
    if ($('upload.labels').files[0]) data.append('labels', $('upload.labels').files[0]);
    for (const key of ['name', 'format', 'label_column', 'label_type']) {
      const v = $(`upload.${key}`).value.trim();
      if (v) data.append(key, v);
    }
    state.textContent = 'Uploading…';
    try {
      const info = await upload(data);
      datasets.push(info);
      fillDatasets(info.id);
      state.textContent = `Uploaded ${datasetLabel(info)}.`;
      main.querySelector('#upload').open = false;
      $('dataset').focus();
    } catch (e) {
      state.textContent = '';
      showFieldErrors(form, { 'upload.file': [e.message] });
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const button = form.querySelector('#submit-button');
    const state = form.querySelector('#submit-state');
    let body;
    try {
      body = requestBody($);
    } catch (local) {
      showFieldErrors(form, local.errors);
      return;
    }
    button.disabled = true;
    state.textContent = 'Submitting…';
    try {
      const job = await api('/v1/jobs', { method: 'POST', body });
      location.hash = `#/jobs/${enc(job.id)}`;
    } catch (error) {
      state.textContent = '';
      if (!(error instanceof ApiError)) throw error;
      const errors = error.problem?.errors || {};
      const unplaced = showFieldErrors(form, errors);
      if (unplaced.length || !Object.keys(errors).length) showFormError(form, error);
    } finally {
      button.disabled = false;
    }
  });
}

/** The POST /v1/jobs body from the form, leaving out what is empty (the server's defaults apply). */
function requestBody($) {
  const errors = {};
  const text = (name) => $(name).value.trim();
  const number = (name) => (text(name) === '' ? undefined : Number(text(name)));
  const jsonOrText = (name, parse) => {
    const v = text(name);
    if (!/^[[{]/.test(v)) return parse(v);
    try { return JSON.parse(v); } catch (e) { errors[name] = [`not valid JSON: ${e.message}`]; return undefined; }
  };
  let model;
  if (!text('model')) errors.model = ['choose a spec or paste a Keras JSON model'];
  else {
    try { model = JSON.parse(text('model')); } catch (e) { errors.model = [`not valid JSON: ${e.message}`]; }
  }
  const metrics = jsonOrText('compile.metrics', (v) => v.split(',').map((s) => s.trim()).filter(Boolean));
  const loss = jsonOrText('compile.loss', (v) => v || undefined);
  if (Object.keys(errors).length) throw Object.assign(new Error('invalid form'), { errors });
  const drop = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
  return drop({
    model,
    dataset: text('dataset'),
    validation_dataset: text('validation_dataset') || undefined,
    compile: drop({ optimizer: text('compile.optimizer') || undefined, learning_rate: number('compile.learning_rate'), loss, metrics }),
    fit: drop({ epochs: number('fit.epochs'), batch_size: number('fit.batch_size'), validation_split: number('fit.validation_split'), shuffle: $('fit.shuffle').checked }),
    rescale: number('rescale'),
    seed: number('seed'),
    device: text('device') || undefined,
    register_as: text('register_as'),
  });
}

async function upload(data) {
  const headers = { Accept: 'application/json' };
  if (apiKey.get()) headers['X-Api-Key'] = apiKey.get();
  const response = await fetch('/v1/datasets', { method: 'POST', headers, body: data });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

function clearErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) p.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((i) => i && !i.startsWith('err-'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' ')); else el.removeAttribute('aria-describedby');
  }
  const box = form.querySelector('#form-error');
  box.hidden = true;
  box.textContent = '';
  showError(null);
}

/** Puts each message under the field its key names (a member path such as fit.epochs; a deeper path than any field,
 * such as compile.loss.out, goes to the nearest field above it) and focuses the first. Returns the keys no field took. */
function showFieldErrors(form, errors) {
  const unplaced = [];
  let first = null;
  for (const [key, messages] of Object.entries(errors)) {
    let name = key.replace(/\[\d+\].*$/, '');
    let container = null;
    while (name && !(container = form.querySelector(`[data-field="${CSS.escape(name)}"]`))) name = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '';
    if (!container) { unplaced.push(key); continue; }
    const control = container.querySelector('input, select, textarea');
    const id = `err-${control.id}`;
    let p = container.querySelector('.field-error');
    if (!p) {
      p = document.createElement('p');
      p.className = 'field-error';
      p.id = id;
      p.dataset.errorFor = name;
      container.append(p);
    }
    p.textContent = [p.textContent, ...messages].filter(Boolean).join(' ');
    control.setAttribute('aria-invalid', 'true');
    const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(id)) control.setAttribute('aria-describedby', [id, ...described].join(' '));
    if (!first) first = control;
    const details = container.closest('details');
    if (details) details.open = true;
  }
  if (first) first.focus();
  return unplaced;
}

function showFormError(form, error) {
  const box = form.querySelector('#form-error');
  box.textContent = error.status === 401 || error.status === 403
    ? `${error.message} — enter an API key at the top of the page.`
    : error.message;
  box.hidden = false;
  if (!form.querySelector('[aria-invalid]')) box.scrollIntoView({ block: 'nearest' });
}
