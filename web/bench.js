// The benchmark page: hands the model and settings to the worker, which runs the engine's own
// benchmark (the code behind `wgllm bench`) and returns its wgllm-bench/1 report; this file only
// shows it. `wgllm bench --browser chromium` drives this page through its query string:
//   bench.html?model=<url>&prompts=16,64&gen=16&reps=3&auto=1
import {EngineClient, browserName} from './engine-client.js';

const $ = (id) => document.getElementById(id);
const engine = new EngineClient({
  onLog: (text) => {
    console.log(text);  // `wgllm bench --browser` echoes these progress lines
    $('log').textContent += text + '\n';
    if (text.startsWith('bench:')) $('status').textContent = text;
  },
});

function showError(message) {
  $('error').textContent = message;
  $('error').classList.toggle('hidden', !message);
}

function median(s) { return s ? s.median : NaN; }
function fmt(v, digits = 1) { return Number.isFinite(v) ? v.toFixed(digits) : '-'; }

function showReport(report) {
  const body = $('table').querySelector('tbody');
  body.textContent = '';
  for (const r of report.rows) {
    const tr = document.createElement('tr');
    const adapter = r.adapter >= 0 ? report.adapters[r.adapter].device : 'cpu reference';
    const cells = [r.model, adapter, r.prompt_tokens, r.gen_tokens, fmt(median(r.ttft_ms)), fmt(median(r.prefill_tok_s)),
                   fmt(median(r.decode_tok_s)), fmt(median(r.p90_ms), 2),
                   r.peak_gpu_bytes ? fmt(median(r.peak_gpu_bytes) / 1048576) : '-'];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    body.append(tr);
  }
  $('table').classList.remove('hidden');
  const text = JSON.stringify(report, null, 1);
  $('report').textContent = text;
  $('download').href = URL.createObjectURL(new Blob([text + '\n'], {type: 'application/json'}));
  $('download').classList.remove('hidden');
}

async function run() {
  const file = $('file').files[0];
  const url = $('url').value.trim();
  if (!file && !url) return showError('Choose a GGUF file or give its URL.');
  showError('');
  $('run').disabled = true;
  document.body.dataset.state = 'running';
  $('report').textContent = '';
  $('status').textContent = 'starting ...';
  const prompts = $('prompts').value.split(',').map((s) => parseInt(s, 10)).filter((n) => n > 0);
  const request = {type: 'bench', prompt_lengths: prompts, gen_tokens: Number($('gen').value) || 0,
                   reps: Number($('reps').value) || 3, browser: await browserName(),
                   os: (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform};
  if (file) request.file = file; else request.url = url;
  try {
    const {report} = await engine.request(request);
    showReport(report);
    $('status').textContent = `done: ${report.rows.length} rows`;
    document.body.dataset.state = 'done';
  } catch (e) {
    showError(e.message);
    $('status').textContent = '';
    document.body.dataset.state = 'error';
  }
  $('run').disabled = false;
}

$('run').onclick = run;
const q = new URLSearchParams(location.search);
if (q.get('model')) $('url').value = q.get('model');
if (q.get('prompts')) $('prompts').value = q.get('prompts');
if (q.get('gen')) $('gen').value = q.get('gen');
if (q.get('reps')) $('reps').value = q.get('reps');
document.body.dataset.state = 'idle';
if (q.get('auto')) run();
