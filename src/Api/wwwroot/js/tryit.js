// "Try it" on a model page. An image classifier (one image-like input) takes a dropped image file, decoded and resized
// in the browser to the input's H×W (grayscale for one channel), or a dataset sample, and shows its top-k classes from
// :predict. Pixels are sent raw (0–255): a model trained here folds its input scale into the graph (the version's
// preprocessing contract says so with folded: true); for an older model whose contract is not folded the page applies
// the scale itself. Every model also gets a JSON editor for a KServe v2 infer request, prefilled from its signature.
import { api, enc } from './api.js';
import { esc, fmtNum } from './ui.js';

const NUMERIC = new Set(['FP32', 'FP64', 'FP16', 'UINT8']);
const MAX_TOP_K = 5;
const product = (xs) => xs.reduce((a, b) => a * b, 1);

/** The image layout of a signature input, or null: [N,H,W,C] or [N,C,H,W] with C 1 or 3, or [N,H,W] (one channel). */
export function imageLayout(input) {
  const s = input.shape;
  if (!s || !NUMERIC.has(input.datatype)) return null;
  const known = (...d) => d.every((x) => x >= 8);
  if (s.length === 4 && (s[3] === 1 || s[3] === 3) && known(s[1], s[2])) return { layout: 'nhwc', h: s[1], w: s[2], c: s[3] };
  if (s.length === 4 && (s[1] === 1 || s[1] === 3) && known(s[2], s[3])) return { layout: 'nchw', h: s[2], w: s[3], c: s[1] };
  // Rank 3 is also a sequence ([N, steps, features]); only a large square-ish one is taken for a grayscale image.
  if (s.length === 3 && s[1] >= 16 && s[2] >= 16) return { layout: 'hw', h: s[1], w: s[2], c: 1 };
  return null;
}

/** Flat values to nested arrays of the given dims (what :predict's instances take). */
function nest(flat, dims) {
  if (dims.length <= 1) return Array.from(flat);
  const step = product(dims.slice(1));
  const out = [];
  for (let i = 0; i < dims[0]; i++) out.push(nest(flat.slice(i * step, (i + 1) * step), dims.slice(1)));
  return out;
}

/** HWC pixel values (0–255) to the model input's sample layout. */
function toInput(hwc, img) {
  if (img.layout !== 'nchw' || img.c === 1) return hwc;
  const chw = new Array(hwc.length);
  const plane = img.h * img.w;
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < img.c; ch++) chw[ch * plane + p] = hwc[p * img.c + ch];
  return chw;
}

/** Decodes an image file and resizes it to w×h, over white (for transparent images); HWC values 0–255. */
export async function decodeImage(file, img, invert) {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = img.w;
  canvas.height = img.h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, img.w, img.h);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, img.w, img.h);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, img.w, img.h).data;
  const out = [];
  for (let i = 0; i < rgba.length; i += 4) {
    const px = img.c === 1 ? [Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2])] : [rgba[i], rgba[i + 1], rgba[i + 2]];
    for (const v of px) out.push(invert ? 255 - v : v);
  }
  return out;
}

function drawPreview(canvas, hwc, img) {
  canvas.width = img.w;
  canvas.height = img.h;
  const ctx = canvas.getContext('2d');
  const data = ctx.createImageData(img.w, img.h);
  for (let p = 0; p < img.w * img.h; p++) {
    const [r, g, b] = img.c === 1 ? [hwc[p], hwc[p], hwc[p]] : [hwc[p * 3], hwc[p * 3 + 1], hwc[p * 3 + 2]];
    data.data.set([r, g, b, 255], p * 4);
  }
  ctx.putImageData(data, 0, 0);
  canvas.hidden = false;
}

/** The KServe v2 request a signature suggests: every input zeros, open dims as 1, one input per line. */
function prefill(v) {
  const inputs = v.inputs.map((t) => {
    const shape = (t.shape ?? [1]).map((d) => (d < 0 ? 1 : d));
    const zero = t.datatype === 'BYTES' ? '' : t.datatype === 'BOOL' ? false : 0;
    return { name: t.name, shape, datatype: t.datatype, data: new Array(product(shape)).fill(zero) };
  });
  return `{\n  "inputs": [\n${inputs.map((i) => `    ${JSON.stringify(i)}`).join(',\n')}\n  ]\n}`;
}

const preview = (data) => {
  const flat = Array.isArray(data) ? data.flat(Infinity) : [data];
  const shown = flat.slice(0, 12).map((x) => (typeof x === 'number' ? fmtNum(x) : String(x))).join(', ');
  return flat.length > 12 ? `${shown}, … (${flat.length} values)` : shown;
};

function editorHtml(v) {
  return `
    <form id="tryit-json-form">
      <label for="tryit-json">Request body (KServe v2 JSON, POST /v2/models/${esc(v.model)}/versions/${v.version}/infer)</label>
      <textarea id="tryit-json" rows="8" spellcheck="false">${esc(prefill(v))}</textarea>
      <div class="row"><button type="submit" id="tryit-run">Run inference</button><button type="button" id="tryit-reset">Reset to zeros</button></div>
    </form>
    <div id="tryit-outputs-box" aria-live="polite"></div>`;
}

export function tryIt(name, v, section) {
  const input = v.inputs.length === 1 ? v.inputs[0] : null;
  const img = input ? imageLayout(input) : null;
  const contract = v.preprocessing;
  const classifiers = Object.entries(contract?.outputs ?? {}).filter(([, o]) => o.classifier);
  const classNames = classifiers.length === 1 ? classifiers[0][1].class_names : null;
  // Not folded: the graph expects scaled values, so the page scales what it sends (y = x·scale + offset).
  const scaling = contract && contract.folded === false && input ? contract.inputs?.[input.name] : null;

  section.innerHTML = `
    <h2 id="tryit-h">Try it</h2>
    <div id="tryit-error" class="tryit-error" role="alert" hidden></div>
    ${img ? `
      <p class="muted">An image input of ${img.h}×${img.w}${img.c === 1 ? ', grayscale' : ', RGB'} (${esc(img.layout.toUpperCase())}).
        Pixels are sent as 0–255 values${scaling ? `, scaled here by ${scaling.scale} as the model's contract asks` : '; the model applies its own scaling'}.</p>
      <div class="tryit-grid">
        <div>
          <fieldset>
            <legend>A dataset sample</legend>
            <span class="pair"><label for="sample-dataset">Dataset</label>
            <select id="sample-dataset"><option value="">(loading)</option></select></span>
            <span class="pair"><label for="sample-index">Sample</label>
            <input id="sample-index" type="number" min="0" step="1" value="0" inputmode="numeric"></span>
            <div class="row"><button type="button" id="sample-show">Classify sample</button><button type="button" id="sample-random">Random sample</button></div>
          </fieldset>
          <fieldset>
            <legend>An image file</legend>
            <div id="tryit-drop" class="drop">
              <label for="tryit-file">Choose an image, or drop one here</label>
              <input id="tryit-file" type="file" accept="image/*">
            </div>
            <span class="pair"><input id="tryit-invert" type="checkbox"><label for="tryit-invert">Invert (light on dark, as in MNIST)</label></span>
          </fieldset>
        </div>
        <div id="tryit-result" aria-live="polite">
          <canvas id="tryit-preview" class="preview" role="img" aria-label="The pixels sent to the model" hidden></canvas>
          <p id="tryit-what" class="muted">Pick a sample or an image to see ${classifiers.length ? `the top ${MAX_TOP_K} classes` : 'the outputs'}.</p>
          <div id="tryit-topk"></div>
        </div>
      </div>
      <details><summary>Raw tensor request</summary>${editorHtml(v)}</details>`
    : editorHtml(v)}`;

  const errorBox = section.querySelector('#tryit-error');
  const fail = (e) => { errorBox.textContent = e ? (e.status ? `HTTP ${e.status}: ${e.message}` : e.message) : ''; errorBox.hidden = !e; };
  wireEditor(name, v, section, fail);
  if (img) wireImage(name, v, section, img, { classifiers, classNames, scaling }, fail);
  return null;
}

function wireEditor(name, v, section, fail) {
  const text = section.querySelector('#tryit-json');
  const box = section.querySelector('#tryit-outputs-box');
  section.querySelector('#tryit-reset').onclick = () => { text.value = prefill(v); };
  section.querySelector('#tryit-json-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    fail(null);
    box.dataset.state = 'running';
    let body;
    try {
      body = JSON.parse(text.value);
    } catch (err) {
      fail(new Error(`The request is not valid JSON: ${err.message}`));
      box.dataset.state = 'error';
      return;
    }
    try {
      const r = await api(`/v2/models/${enc(name)}/versions/${v.version}/infer`, { method: 'POST', body });
      box.innerHTML = `
        <div class="table-wrap"><table id="tryit-outputs">
          <thead><tr><th scope="col">Output</th><th scope="col">Type</th><th scope="col">Shape</th><th scope="col">Values</th></tr></thead>
          <tbody>${r.outputs.map((o) => `<tr data-output="${esc(o.name)}"><td>${esc(o.name)}</td><td>${esc(o.datatype)}</td>
            <td>[${esc(o.shape.join(', '))}]</td><td class="values">${esc(preview(o.data))}</td></tr>`).join('')}</tbody>
        </table></div>
        <details><summary>Response</summary><pre id="tryit-response">${esc(JSON.stringify(r, null, 2))}</pre></details>`;
      box.dataset.state = 'done';
    } catch (err) {
      box.innerHTML = '';
      fail(err);
      box.dataset.state = 'error';
    }
  });
}

function wireImage(name, v, section, img, model, fail) {
  const select = section.querySelector('#sample-dataset');
  const index = section.querySelector('#sample-index');
  const result = section.querySelector('#tryit-result');
  const what = section.querySelector('#tryit-what');
  const canvas = section.querySelector('#tryit-preview');
  const topk = section.querySelector('#tryit-topk');
  const size = img.h * img.w * img.c;
  const units = v.outputs[0]?.shape?.at(-1);
  const k = Math.min(MAX_TOP_K, units > 1 ? units : 2);

  const classify = async (hwc, label) => {
    fail(null);
    result.dataset.state = 'running';
    drawPreview(canvas, hwc, img);
    const values = toInput(hwc, img).map((x) => (model.scaling ? x * model.scaling.scale + (model.scaling.offset ?? 0) : x));
    const dims = input0Dims(v, img);
    try {
      const q = model.classifiers.length ? `?top_k=${k}` : '';
      const r = await api(`/v1/models/${enc(name)}/versions/${v.version}:predict${q}`, { method: 'POST', body: { instances: [nest(values, dims)] } });
      what.innerHTML = label;
      if (r.top_k) {
        const rows = Array.isArray(r.top_k[0]) ? r.top_k[0] : Object.values(r.top_k[0])[0];
        topk.innerHTML = `
          <table id="topk"><caption class="muted">Top ${rows.length} classes</caption>
            <thead><tr><th scope="col" class="num">#</th><th scope="col">Class</th><th scope="col" class="num">Probability</th></tr></thead>
            <tbody>${rows.map((c, i) => `<tr data-class="${c.class}" data-probability="${c.probability}"><td class="num">${i + 1}</td>
              <td>${esc(c.name ?? String(c.class))}${c.name ? ` <span class="muted">(${c.class})</span>` : ''}</td>
              <td class="num"><span class="bar" aria-hidden="true"><span style="width:${(c.probability * 100).toFixed(1)}%"></span></span>${(c.probability * 100).toFixed(2)}%</td></tr>`).join('')}</tbody>
          </table>`;
      } else {
        topk.innerHTML = `<pre id="tryit-predictions">${esc(JSON.stringify(r.predictions, null, 1))}</pre>`;
      }
      result.dataset.state = 'done';
    } catch (e) {
      topk.innerHTML = '';
      fail(e);
      result.dataset.state = 'error';
    }
  };

  const showSample = async (i) => {
    if (!select.value) { fail(new Error('No dataset with samples of this input\'s size is installed or uploaded.')); return; }
    try {
      const s = await api(`/v1/datasets/${enc(select.value)}/samples/${i}`);
      if (s.values.length !== size) throw new Error(`sample ${i} of ${s.dataset} has ${s.values.length} values; the input takes ${size}`);
      index.value = String(i);
      index.max = String(s.samples - 1);
      const label = s.label === null ? '' : ` — label: <strong id="sample-label" data-label="${esc(s.label)}">${esc(s.label_name ?? s.label)}</strong>`;
      await classify(s.values, `Sample ${i} of ${esc(select.value)}${label}`);
    } catch (e) { fail(e); result.dataset.state = 'error'; }
  };

  section.querySelector('#sample-show').onclick = () => showSample(Math.max(0, Math.floor(Number(index.value) || 0)));
  section.querySelector('#sample-random').onclick = () => {
    const n = Number(select.selectedOptions[0]?.dataset.samples || 1);
    showSample(Math.floor(Math.random() * n));
  };

  const fromFile = async (file) => {
    if (!file) return;
    try {
      const hwc = await decodeImage(file, img, section.querySelector('#tryit-invert').checked);
      await classify(hwc, `Image <strong>${esc(file.name)}</strong>, resized to ${img.w}×${img.h}${img.c === 1 ? ' grayscale' : ''}`);
    } catch (e) {
      fail(e instanceof DOMException || e.name === 'InvalidStateError' ? new Error(`${file.name} could not be decoded as an image`) : e);
      result.dataset.state = 'error';
    }
  };
  const file = section.querySelector('#tryit-file');
  file.addEventListener('change', () => fromFile(file.files[0]));
  const drop = section.querySelector('#tryit-drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    fromFile(e.dataTransfer.files[0]);
  });

  // Datasets whose samples fit the input; the version's own dataset first, its :test split before it.
  api('/v1/datasets?limit=200').then((list) => {
    const fits = list.datasets.filter((d) => d.samples > 0 && product(d.feature_shape) === size);
    const own = v.lineage?.dataset;
    const rank = (d) => (d.name === `${own}:test` ? 0 : d.name === own || d.id === own ? 1 : 2);
    fits.sort((a, b) => rank(a) - rank(b));
    select.innerHTML = fits.map((d) => `<option value="${esc(d.builtin ? d.name : d.id)}" data-samples="${d.samples}">${esc(d.name)}${d.builtin ? '' : ` (${esc(d.id)})`} · ${d.samples} samples</option>`).join('')
      || '<option value="">No dataset fits this input</option>';
    select.dataset.loaded = 'true';
  }).catch(fail);
}

/** The sample dims of the (single) image input, as :predict nests an instance. */
function input0Dims(v, img) {
  const s = v.inputs[0].shape;
  return img.layout === 'hw' ? [img.h, img.w] : s.slice(1);
}
