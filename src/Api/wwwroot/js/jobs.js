// Jobs: the paginated list, and a job's page whose curves come from its history and then grow from its event stream.
import { api, enc } from './api.js';
import { esc, fmtNum, fmtDuration, fmtTime, stateBadge, jobDuration, showError, pageQuery, pagerHtml, wirePager } from './ui.js';

const PAGE = 20;
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'interrupted']);

function progressCell(job) {
  const epochs = job.request?.fit?.epochs ?? 1;
  const p = job.progress;
  const done = p && p.batches ? (p.epoch - 1 + p.batch / p.batches) : job.epoch;
  const fraction = job.state === 'succeeded' ? 1 : Math.min(1, done / epochs);
  const label = `epoch ${job.epoch} of ${epochs}`;
  return `<span class="bar" aria-hidden="true"><span style="width:${(fraction * 100).toFixed(1)}%"></span></span>${esc(label)}`;
}

export async function jobsPage(_m, main, tokens = ['']) {
  const list = await api(`/v1/jobs?${pageQuery(PAGE, tokens)}`);
  main.innerHTML = `
    <h1>Training jobs</h1>
    <p><a href="#/submit" id="new-job">Submit a training job</a></p>
    <div class="table-wrap"><table id="jobs">
      <caption class="muted" style="text-align:left">${PAGE} jobs a page</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Registers as</th><th scope="col">Dataset</th>
        <th scope="col">Progress</th><th scope="col" class="num">Duration</th><th scope="col">Created</th></tr></thead>
      <tbody>${list.jobs.map((j) => `
        <tr data-job="${esc(j.id)}">
          <td><a href="#/jobs/${enc(j.id)}">${esc(j.id)}</a></td>
          <td>${stateBadge(j.state)}</td>
          <td>${j.registered_model ? `<a href="#/models/${enc(j.registered_model)}/${j.registered_version}">${esc(j.registered_model)} v${j.registered_version}</a>` : esc(j.request?.register_as)}</td>
          <td>${esc(j.request?.dataset)}</td>
          <td>${progressCell(j)}</td>
          <td class="num">${esc(fmtDuration(jobDuration(j)))}</td>
          <td>${esc(fmtTime(j.created_at))}</td>
        </tr>`).join('') || '<tr><td colspan="7">No jobs yet. <a href="#/submit">Submit one</a> (or POST /v1/jobs).</td></tr>'}
      </tbody>
    </table></div>${pagerHtml(tokens, list.next_page_token)}`;
  wirePager(main, tokens, list.next_page_token, (t) => jobsPage(null, main, t));
}

const COLORS = ['#0b5cad', '#c4432b', '#7aa7d6', '#1a7f37', '#8250df', '#9ad0a6', '#bf8700', '#0a7f8f', '#d9b45c'];

/** One Chart.js line chart of several named series over a continuous epoch axis (a batch at epoch e-1 + b/B). */
class Curves {
  constructor(figure, title) {
    this.figure = figure;
    this.series = new Map();
    this.bases = new Map();
    this.chart = new Chart(figure.querySelector('canvas'), {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
        interaction: { mode: 'nearest', intersect: false },
        scales: { x: { type: 'linear', title: { display: true, text: 'epoch' }, min: 0 }, y: { title: { display: true, text: title } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  }

  add(name, x, y, batch) {
    if (typeof y !== 'number' || !isFinite(y)) return;
    let s = this.series.get(name);
    if (!s) {
      // Train, val_ and batch series of one quantity keep the same colours whatever order they arrive in.
      const base = name.replace(' (batch)', '').replace(/^val_/, '');
      if (!this.bases.has(base)) this.bases.set(base, this.bases.size);
      const color = COLORS[(this.bases.get(base) * 3 + (batch ? 2 : name.startsWith('val_') ? 1 : 0)) % COLORS.length];
      s = { label: name, data: [], borderColor: color, backgroundColor: color, borderWidth: batch ? 1 : 2,
        pointRadius: batch ? 0 : 2, borderDash: batch ? [4, 3] : [], tension: 0 };
      this.series.set(name, s);
      this.chart.data.datasets.push(s);
    }
    s.data.push({ x, y });
  }

  points() { return [...this.series.values()].reduce((n, s) => n + s.data.length, 0); }

  draw() {
    this.chart.update('none');
    this.figure.dataset.points = String(this.points());
  }

  destroy() { this.chart.destroy(); }
}

const isLoss = (name) => /(^|_)loss$/.test(name);

/** What a Keras loss or metrics field says, whichever of its forms (a name, a list, an object per output) it takes. */
function kerasValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map(kerasValue).join(', ');
  return Object.entries(v).map(([k, x]) => `${k}: ${kerasValue(x)}`).join('; ');
}

/** The model of a request in one line: its class, name and layers (class, units or filters, activation). */
function modelSummary(model) {
  const cfg = model?.config ?? {};
  const layers = Array.isArray(cfg.layers) ? cfg.layers : [];
  const layer = (l) => [l.class_name, l.config?.units ?? l.config?.filters ?? '', l.config?.activation && l.config.activation !== 'linear' ? l.config.activation : '']
    .filter((x) => x !== '').join(' ');
  return `${model?.class_name ?? 'model'}${cfg.name ? ` “${cfg.name}”` : ''} · ${layers.length} layer${layers.length === 1 ? '' : 's'}` +
    (layers.length ? `: ${layers.slice(0, 12).map(layer).join(', ')}${layers.length > 12 ? ', …' : ''}` : '');
}

/** The submitted spec as [label, value, key] rows, defaults filled in as the service applies them. */
function specFacts(r) {
  if (!r) return [];
  const c = r.compile ?? {}, f = r.fit ?? {};
  return [
    ['Model', r.model ? modelSummary(r.model) : '', 'model'],
    ['Base model', r.base_model ? `${r.base_model.name}${r.base_model.version ? ` v${r.base_model.version}` : ''}${r.base_model.freeze?.length ? ` (frozen: ${r.base_model.freeze.join(', ')})` : ''}` : '', 'base_model'],
    ['Dataset', r.dataset, 'dataset'],
    ['Validation', r.validation_dataset ? `dataset ${r.validation_dataset}` : f.validation_split ? `${+(f.validation_split * 100).toFixed(2)} % of the training data` : 'none', 'validation'],
    ['Optimizer', `${c.optimizer ?? 'adam'}${c.learning_rate != null ? `, learning rate ${c.learning_rate}` : ''}`, 'optimizer'],
    ['Loss', kerasValue(c.loss) || 'sparse_categorical_crossentropy', 'loss'],
    ['Loss weights', kerasValue(c.loss_weights), 'loss_weights'],
    ['Metrics', kerasValue(c.metrics) || 'none', 'metrics'],
    ['Epochs', f.epochs ?? 1, 'epochs'],
    ['Batch size', f.batch_size ?? 32, 'batch_size'],
    ['Shuffle', f.shuffle === false ? 'no' : 'yes', 'shuffle'],
    ['Callbacks', (r.callbacks ?? []).map((cb) => cb.class_name).join(', '), 'callbacks'],
    ['Rescale', r.rescale, 'rescale'],
    ['Seed', r.seed ?? 0, 'seed'],
    ['Device', r.device ?? 'auto', 'device'],
    ['Registers as', r.register_as, 'register_as'],
  ].filter(([, v]) => v !== null && v !== undefined && v !== '');
}

/** The job's log lines (GET /v1/jobs/{id}/logs), read page by page after the last one shown: once for an ended job,
 * every second while it runs, and for a few seconds after it ends (its worker logs the end just after recording it). */
class JobLog {
  constructor(id, box) {
    this.id = id;
    this.box = box;
    this.after = 0;
    this.timer = null;
    this.until = null;
    this.running = false;
    this.stopped = false;
  }

  async read() {
    let more = true;
    while (more && !this.stopped) {
      const page = await api(`/v1/jobs/${enc(this.id)}/logs?after=${this.after}&limit=1000`);
      this.append(page.lines);
      this.after = page.next_after;
      more = page.more;
    }
  }

  append(lines) {
    if (!lines.length) return;
    // Kept at the bottom while the reader is there; left alone when they scrolled up to read.
    const atBottom = this.box.scrollTop + this.box.clientHeight >= this.box.scrollHeight - 4;
    this.box.querySelector('#log-empty')?.remove();
    this.box.insertAdjacentHTML('beforeend', lines.map((l) => `
      <div class="log-line level-${esc(l.level)}" data-id="${l.id}" data-level="${esc(l.level)}"><time datetime="${esc(l.time)}">${esc(new Date(l.time).toLocaleTimeString())}</time>` +
      `<span class="level">${esc(l.level === 'information' ? 'info' : l.level)}</span><span class="message">${esc(this.short(l.message))}</span></div>`).join(''));
    this.box.dataset.lines = String(this.box.querySelectorAll('.log-line').length);
    if (atBottom) this.box.scrollTop = this.box.scrollHeight;
  }

  /** A line without the "job ID" it starts with: on the job's own page that goes without saying. */
  short(message) {
    const prefix = `job ${this.id}`;
    if (!message.startsWith(prefix)) return message;
    const rest = message.slice(prefix.length).replace(/^:? /, '');
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }

  /** One loop reads the log: every second until finish() set an end, then once past that end. */
  async loop() {
    if (this.running) return;
    this.running = true;
    while (!this.stopped) {
      const last = this.until !== null && Date.now() >= this.until;
      try { await this.read(); } catch (e) { showError(e); }
      if (last) { this.box.dataset.done = 'true'; break; }
      await new Promise((resolve) => { this.timer = setTimeout(resolve, 1000); });
    }
    this.running = false;
  }

  follow() { this.loop(); }

  /** The job ended: read on for 5 s after its end (its worker and launcher log the end and the exit just after
   * recording it), then mark the log final. */
  finish(finishedAt) {
    const ended = finishedAt ? Date.parse(finishedAt) : Date.now();
    this.until = Math.max(Date.now(), ended + 5000);
    if (!this.running) this.loop();
  }

  stop() { this.stopped = true; clearTimeout(this.timer); }
}

export async function jobPage(id, main) {
  let job = await api(`/v1/jobs/${enc(id)}`);
  main.innerHTML = `
    <h1>Job <span id="job-id">${esc(job.id)}</span></h1>
    <div class="row">
      <span id="job-state">${stateBadge(job.state)}</span>
      <span id="job-progress" aria-live="polite"></span>
      <span id="job-registered"></span>
      <button type="button" class="danger" id="cancel">Cancel job</button>
    </div>
    <section aria-labelledby="curves-h">
      <h2 id="curves-h">Curves</h2>
      <div class="charts">
        <figure class="chart" id="chart-loss" data-points="0"><figcaption>Loss</figcaption><div class="canvas"><canvas role="img" aria-label="Loss per epoch and running loss per batch"></canvas></div></figure>
        <figure class="chart" id="chart-metrics" data-points="0"><figcaption>Metrics</figcaption><div class="canvas"><canvas role="img" aria-label="Metrics per epoch and running metrics per batch"></canvas></div></figure>
      </div>
    </section>
    <section aria-labelledby="history-h">
      <h2 id="history-h">History</h2>
      <div class="table-wrap"><table id="history"><thead></thead><tbody></tbody></table></div>
    </section>
    <section aria-labelledby="log-h">
      <h2 id="log-h">Log</h2>
      <div class="log" id="log" role="log" tabindex="0" aria-labelledby="log-h" data-lines="0"><p class="muted" id="log-empty">No log lines yet.</p></div>
    </section>
    <section aria-labelledby="spec-h">
      <h2 id="spec-h">Specification</h2>
      <dl class="facts" id="spec-facts">${specFacts(job.request).map(([k, v, key]) => `<dt>${esc(k)}</dt><dd data-spec="${key}">${esc(v)}</dd>`).join('')}</dl>
      ${job.request?.model ? `<details><summary>Model config (Keras JSON)</summary><pre id="model-json">${esc(JSON.stringify(job.request.model, null, 2))}</pre></details>` : ''}
      <details><summary>Whole request (JSON)</summary><pre id="spec">${esc(JSON.stringify(job.request, null, 2))}</pre></details>
    </section>
    <section aria-labelledby="run-h">
      <h2 id="run-h">Run</h2>
      <dl class="facts" id="facts"></dl>
    </section>`;

  const loss = new Curves(main.querySelector('#chart-loss'), 'loss');
  const metrics = new Curves(main.querySelector('#chart-metrics'), 'value');
  const rows = [];
  let lastEpoch = 0;

  const addEpoch = (epoch, values) => {
    if (epoch <= lastEpoch) return;
    lastEpoch = epoch;
    for (const [k, v] of Object.entries(values)) (isLoss(k) ? loss : metrics).add(k, epoch, v, false);
    rows.push({ epoch, values });
  };
  const addBatch = (p) => {
    if (!p.batches) return;
    const x = p.epoch - 1 + p.batch / p.batches;
    for (const [k, v] of Object.entries(p.metrics)) (isLoss(k) ? loss : metrics).add(`${k} (batch)`, x, v, true);
  };

  const renderHistory = () => {
    const keys = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
    const table = main.querySelector('#history');
    table.tHead.innerHTML = `<tr><th scope="col" class="num">Epoch</th>${keys.map((k) => `<th scope="col" class="num">${esc(k)}</th>`).join('')}</tr>`;
    table.tBodies[0].innerHTML = rows.map((r) => `<tr data-epoch="${r.epoch}"><td class="num">${r.epoch}</td>${keys.map((k) =>
      k in r.values ? `<td class="num" data-metric="${esc(k)}" data-value="${r.values[k]}">${esc(fmtNum(r.values[k]))}</td>` : '<td></td>').join('')}</tr>`).join('');
  };

  const renderJob = () => {
    main.querySelector('#job-state').innerHTML = stateBadge(job.state);
    const epochs = job.request?.fit?.epochs ?? 1;
    main.querySelector('#cancel').disabled = TERMINAL.has(job.state);
    main.querySelector('#job-registered').innerHTML = job.registered_model
      ? `Registered: <a id="registered-link" href="#/models/${enc(job.registered_model)}/${job.registered_version}">${esc(job.registered_model)} v${job.registered_version}</a>` : '';
    if (TERMINAL.has(job.state)) main.querySelector('#job-progress').textContent = `${job.epoch} of ${epochs} epochs`;
    const facts = [
      ['Created', fmtTime(job.created_at)],
      ['Started', fmtTime(job.started_at)], ['Finished', fmtTime(job.finished_at)], ['Duration', fmtDuration(jobDuration(job))],
      ['Device', job.device], ['Attempts', job.attempts], ['Error', job.error],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    main.querySelector('#facts').innerHTML = facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('');
  };

  for (const h of job.history ?? []) addEpoch(h.epoch, h.metrics);
  if (job.progress) addBatch(job.progress);
  loss.draw(); metrics.draw(); renderHistory(); renderJob();

  main.querySelector('#cancel').onclick = async () => {
    try {
      showError(null);
      await api(`/v1/jobs/${enc(id)}/cancel`, { method: 'POST' });
      job = await api(`/v1/jobs/${enc(id)}`);
      renderJob();
    } catch (e) { showError(e); }
  };

  const log = new JobLog(id, main.querySelector('#log'));
  if (TERMINAL.has(job.state)) {
    main.querySelector('#history').dataset.done = 'true';
    log.finish(job.finished_at);
    return () => log.stop();
  }
  log.follow();

  // The stream resumes after the last event the history already covers; on a dropped connection EventSource itself
  // reconnects with Last-Event-ID, which the server prefers to ?after=. Reads need no API key, so EventSource suffices.
  const source = new EventSource(`/v1/jobs/${enc(id)}/events?after=${job.last_event_id ?? 0}`);
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; loss.draw(); metrics.draw(); });
  };
  source.addEventListener('epoch', (e) => {
    const d = JSON.parse(e.data);
    addEpoch(d.epoch, d.metrics);
    renderHistory(); redraw();
    main.querySelector('#job-progress').textContent = `epoch ${d.epoch} of ${d.epochs} done`;
  });
  source.addEventListener('batch', (e) => {
    const p = JSON.parse(e.data);
    addBatch(p); redraw();
    main.querySelector('#job-progress').textContent = `epoch ${p.epoch} of ${p.epochs}, batch ${p.batch}${p.batches ? ` of ${p.batches}` : ''}` +
      ` · ${Math.round(p.samples_per_second)} samples/s${p.eta_seconds != null ? ` · ${fmtDuration(p.eta_seconds)} left` : ''}`;
  });
  source.addEventListener('state', async (e) => {
    const d = JSON.parse(e.data);
    job = { ...job, state: d.state, epoch: d.epoch, error: d.error, started_at: d.started_at, finished_at: d.finished_at,
      registered_model: d.registered_model, registered_version: d.registered_version, attempts: d.attempts };
    if (TERMINAL.has(d.state)) {
      source.close();
      // The stored history is the record: it replaces what the stream drew, so the page ends equal to the API.
      try {
        job = await api(`/v1/jobs/${enc(id)}`);
        rows.length = 0;
        for (const h of job.history ?? []) rows.push({ epoch: h.epoch, values: h.metrics });
        renderHistory();
      } catch (err) { showError(err); }
      loss.draw(); metrics.draw(); renderJob();
      // Set last: tests (and readers) take it to mean that everything on the page is final.
      main.querySelector('#history').dataset.done = 'true';
      log.finish(job.finished_at);
      return;
    }
    renderJob();
  });
  return () => { source.close(); log.stop(); loss.destroy(); metrics.destroy(); };
}
