// The engine's Web Worker: owns the WebAssembly module (wgllm.js/.wasm, the C++ engine) and
// answers the page's messages, so the page never freezes while a model loads or generates.
//
//   page -> worker: {id, type: 'load', file | url}    -> {id, type: 'loaded', info}
//                   {id, type: 'generate', prompt | messages, n_predict, temp, ...}
//                                                      -> {type: 'token', id, text}..., {id, type: 'done', stats}
//                   {type: 'stop'}                     (answered by the running generate's 'done')
//                   {id, type: 'bench', file | url, prompt_lengths, gen_tokens, reps, browser}
//                                                      -> {id, type: 'bench', report}
//   worker -> page: {id, type: 'error', message}, {type: 'log', text}, {type: 'progress', loaded, total}
//
// Weights reach the engine as a File mounted with WORKERFS (read in place); a URL is fetched once
// into the Cache API, so a reload takes it from there.
importScripts('wgllm.js');

const MODEL_DIR = '/models';
const CACHE_NAME = 'wgllm-models-v1';
let engine = null;        // promise of the Emscripten module
let queue = Promise.resolve();  // engine calls run one at a time (one ASYNCIFY stack)
let stop = false;

function log(text) { postMessage({type: 'log', text}); }

function getEngine() {
  if (!engine) {
    engine = createWgllm({print: log, printErr: log}).then((M) => {
      M.onToken = (id, text) => postMessage({type: 'token', id, text});
      M.stopRequested = () => stop;
      M.FS.mkdir(MODEL_DIR);
      return M;
    });
  }
  return engine;
}

async function call(command, args) {
  const M = await getEngine();
  const ptr = await M.ccall('wgllm_call', 'number', ['string', 'string'], [command, JSON.stringify(args)], {async: true});
  const out = JSON.parse(M.UTF8ToString(ptr));
  M._free(ptr);
  if (out.error) throw new Error(out.error);
  return out;
}

// Checks the browser offers WebGPU before the engine asks for it, to say plainly what is missing.
async function checkWebGpu() {
  if (!self.navigator || !navigator.gpu)
    throw new Error('This browser does not offer WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge ' +
                    '(or Firefox Nightly / Safari Technology Preview with WebGPU enabled), opened over https or ' +
                    'http://localhost / 127.0.0.1.');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter)
    throw new Error('WebGPU is present but the browser offered no adapter (requestAdapter() returned null): ' +
                    'the GPU may be blocklisted; try chrome://gpu, or start Chrome with --enable-unsafe-webgpu.');
  // What the kernels need at least (the WebGPU defaults); the f32 path runs without shader-f16.
  const need = {maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256,
                maxComputeWorkgroupStorageSize: 16384, maxStorageBufferBindingSize: 128 << 20};
  for (const [name, min] of Object.entries(need))
    if (!(adapter.limits[name] >= min))
      throw new Error(`The WebGPU adapter's ${name} is ${adapter.limits[name]}; wgllm needs at least ${min}.`);
  if (!adapter.features.has('shader-f16'))
    log('note: the adapter lacks shader-f16: the engine runs its f32 kernels (slower, same results)');
}

// The model as a File on the engine's file system (WORKERFS: read in place, never copied whole).
async function mountModel(msg) {
  let file = msg.file;
  if (!file) file = await fetchCached(msg.url);
  const M = await getEngine();
  try { M.FS.unmount(MODEL_DIR); } catch (e) { /* nothing mounted yet */ }
  const name = (file.name || 'model.gguf').replace(/[^A-Za-z0-9._-]/g, '_');
  const named = file.name === name ? file : new File([file], name);
  M.FS.mount(M.FS.filesystems.WORKERFS, {files: [named]}, MODEL_DIR);
  return {path: `${MODEL_DIR}/${name}`, name, bytes: named.size};
}

// A URL's bytes as a File, from the Cache API when a previous visit stored them.
async function fetchCached(url) {
  const name = decodeURIComponent(new URL(url, self.location.href).pathname.split('/').pop() || 'model.gguf');
  let cache = null;
  try { cache = await caches.open(CACHE_NAME); } catch (e) { log(`note: no Cache API here (${e.message}): the model is not cached`); }
  let response = cache ? await cache.match(url) : null;
  const cached = !!response;
  if (!response) {
    response = await fetch(url);
    if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status} ${response.statusText}`);
    if (cache) {
      await cache.put(url, response.clone());
      response = await cache.match(url) || response;
    }
  }
  postMessage({type: 'cache', url, cached});
  const blob = await response.blob();
  return new File([blob], name);
}

async function handle(msg) {
  switch (msg.type) {
    case 'load': {
      await checkWebGpu();
      const m = await mountModel(msg);
      const info = await call('open', {path: m.path, max_context: msg.max_context || 2048});
      return {type: 'loaded', info: Object.assign(info, {file: m.name, file_bytes: m.bytes})};
    }
    case 'generate': {
      stop = false;
      const stats = await call('generate', msg);
      return {type: 'done', stats};
    }
    case 'bench': {
      await checkWebGpu();
      const m = await mountModel(msg);
      const report = await call('bench', {models: [m.path], prompt_lengths: msg.prompt_lengths || [],
                                          gen_tokens: msg.gen_tokens || 0, reps: msg.reps || 3,
                                          seed: msg.seed || 1234, browser: msg.browser || '', os: msg.os || ''});
      return {type: 'bench', report};
    }
    case 'close':
      await call('close', {});
      return {type: 'closed'};
    default:
      throw new Error(`unknown request '${msg.type}'`);
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'stop') { stop = true; return; }
  queue = queue.then(() => handle(msg)).then(
    (reply) => postMessage(Object.assign({id: msg.id}, reply)),
    (err) => postMessage({id: msg.id, type: 'error', message: String(err && err.message || err)}));
};
