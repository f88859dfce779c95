// The chat page: picks a model (file or URL), streams the reply token by token, shows live tok/s
// and time to first token, and keeps the conversation for the model's chat template. The engine
// runs in worker.js; this file only drives the page.
import {EngineClient} from './engine-client.js';

const $ = (id) => document.getElementById(id);
let history = [];      // [{role, content}] of the finished turns
let live = null;       // the reply being generated: {el, text, tokens, t0, tFirst}
let loaded = false;

const engine = new EngineClient({
  onToken: (id, text) => {
    if (!live) return;
    const now = performance.now();
    if (id >= 0) {
      live.tokens.push(id);
      if (live.tFirst === null) live.tFirst = now;
    }
    live.text += text;
    live.el.textContent = live.text;
    const n = live.tokens.length;
    const tps = n > 1 ? (n - 1) / ((now - live.tFirst) / 1000) : 0;
    $('stats').textContent = `TTFT ${(live.tFirst - live.t0).toFixed(0)} ms | ${n} tokens | ${tps.toFixed(1)} tok/s`;
  },
  onLog: (text) => { $('log').textContent += text + '\n'; },
  onCache: (m) => {
    document.body.dataset.cache = m.cached ? 'hit' : 'stored';
    $('status').textContent = m.cached ? 'model taken from the browser cache' : 'model downloaded and cached';
  },
});

function showError(message) {
  const box = $('error');
  box.textContent = message;
  box.classList.toggle('hidden', !message);
}

function busy(on) {
  $('send').disabled = on || !loaded;
  $('load').disabled = on;
  $('stop').disabled = !on;
}

$('load').onclick = async () => {
  const file = $('file').files[0];
  const url = $('url').value.trim();
  if (!file && !url) return showError('Choose a GGUF file or give its URL.');
  showError('');
  busy(true);
  $('status').textContent = `loading ${file ? file.name : url} ...`;
  try {
    const {info} = await engine.request(file ? {type: 'load', file} : {type: 'load', url});
    loaded = true;
    document.body.dataset.model = info.file;
    document.body.dataset.heapPeakGrowth = info.heap_peak_growth_bytes;  // read by the browser test
    $('model-info').textContent = `${info.file}: ${info.arch}, ${info.layers} layers, vocab ${info.vocab}, ` +
      `on ${info.adapter}${info.shader_f16 ? '' : ' (f32 kernels: no shader-f16)'}, loaded in ${info.load_wall_s.toFixed(2)} s`;
    $('chat').checked = info.chat_template;
    $('status').textContent = 'ready';
  } catch (e) {
    loaded = false;
    delete document.body.dataset.model;
    showError(e.message);
    $('status').textContent = '';
  }
  busy(false);
};

// The demo model ships in the bundle (scripts/build-web copies models/ beside the pages): load it
// like any URL, so it is cached the same way.
$('demo').onclick = () => {
  $('file').value = '';
  $('url').value = new URL('models/demo-kjv-12m-f16.gguf', location.href).href;
  $('load').click();
};

$('send').onclick = async () => {
  const text = $('prompt').value;
  if (!text) return;
  showError('');
  const useChat = $('chat').checked;
  const turn = document.createElement('div');
  turn.className = 'turn user';
  turn.textContent = text;
  const reply = document.createElement('div');
  reply.className = 'turn assistant';
  $('conversation').append(turn, reply);
  live = {el: reply, text: '', tokens: [], t0: performance.now(), tFirst: null};
  const request = {type: 'generate', n_predict: Number($('n').value), temp: Number($('temp').value),
                   seed: Number($('seed').value)};
  if (useChat) request.messages = history.concat([{role: 'user', content: text}]);
  else request.prompt = history.map((m) => m.content).join('') + text;
  busy(true);
  document.body.dataset.state = 'generating';
  try {
    const {stats} = await engine.request(request);
    history.push({role: 'user', content: text}, {role: 'assistant', content: live.text});
    reply.dataset.tokens = JSON.stringify(stats.tokens);
    $('stats').textContent = `prompt ${stats.prompt_tokens} tokens | TTFT ${stats.ttft_ms.toFixed(0)} ms | ` +
      `prefill ${stats.prefill_tok_s.toFixed(1)} tok/s | ${stats.generated_tokens} tokens at ` +
      `${stats.decode_tok_s.toFixed(1)} tok/s${stats.stopped ? ' (stopped)' : ''} | peak GPU memory ` +
      `${(stats.peak_gpu_bytes / 1048576).toFixed(1)} MiB`;
  } catch (e) {
    showError(e.message);
  }
  live = null;
  busy(false);
  document.body.dataset.state = 'idle';
};

$('stop').onclick = () => engine.stop();
$('clear').onclick = () => { history = []; $('conversation').textContent = ''; $('stats').textContent = ''; };
document.body.dataset.state = 'idle';
