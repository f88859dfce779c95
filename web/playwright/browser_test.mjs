// The browser test (ctest label `browser`, run by browser_test.sh): serves the web bundle on
// 127.0.0.1, drives headless Chromium (SwiftShader's WebGPU) and checks
//   1. the chat page generates from a tiny model with greedy decoding, and the text and token
//      count equal the native `wgllm run --temp 0` on the same file (raw prompt and chat template);
//      Stop ends a generation early;
//   2. a corrupt file shows the GGUF error, and the page then still loads and generates;
//      the shipped demo model (trained weights) gives the native text too, and loading it grows
//      the WebAssembly heap by far less than the file (the weights stream to the GPU);
//   3. a model given by URL is fetched once; loading it again (a new page) takes it from the Cache API;
//   4. the benchmark page writes a report valid under src/bench/schema.json (wgllm-bench/1) that
//      names this browser;
//   5. without an adapter (Chromium lacking --enable-unsafe-webgpu) the page says so.
//   node browser_test.mjs --bundle DIR --model tiny.gguf --native native.txt --native-chat chat.txt
//                         --demo demo.gguf --demo-native demo.txt --prompt TEXT --n N --schema schema.json
// Ends with the plain 'N passed, N failed' line.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {launchChromium, echoConsole} from './chromium.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const TIMEOUT = 600_000;
const model = fs.readFileSync(args.model);

// A static server for the bundle (and nothing else) on 127.0.0.1: a secure context for WebGPU.
const types = {'.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
               '.wasm': 'application/wasm', '.json': 'application/json'};
let modelRequests = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/model/tiny.gguf') {  // a model "download" for the URL and cache checks
    modelRequests++;
    res.writeHead(200, {'Content-Type': 'application/octet-stream', 'Content-Length': model.length});
    return res.end(model);
  }
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
  const file = path.join(args.bundle, rel);
  if (!file.startsWith(path.resolve(args.bundle)) || !fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, {'Content-Type': types[path.extname(file)] || 'application/octet-stream'});
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

let passed = 0, failed = 0;
async function check(name, f) {
  try {
    await f();
    passed++;
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
function expectEqual(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want))
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// The subset of JSON Schema that schema.json uses (as bench/report.cpp's validator).
function validate(v, s, at = '$', out = [], root = s) {
  if (s.$ref) s = s.$ref.slice(2).split('/').reduce((o, k) => o[k], root);  // '#/$defs/spread'
  const typeOf = (x) => x === null ? 'null' : Array.isArray(x) ? 'array' :
    typeof x === 'number' ? (Number.isInteger(x) ? 'integer' : 'number') : typeof x;
  if (s.type) {
    const want = [].concat(s.type), t = typeOf(v);
    if (!want.includes(t) && !(t === 'integer' && want.includes('number'))) out.push(`${at}: ${t}, want ${want}`);
  }
  if ('const' in s && v !== s.const) out.push(`${at}: ${JSON.stringify(v)} != ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(v)) out.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(s.enum)}`);
  if (typeof s.minimum === 'number' && typeof v === 'number' && v < s.minimum) out.push(`${at}: ${v} < ${s.minimum}`);
  if (typeOf(v) === 'object') {
    for (const k of s.required || []) if (!(k in v)) out.push(`${at}: missing ${k}`);
    for (const [k, x] of Object.entries(v)) {
      if (s.properties && s.properties[k]) validate(x, s.properties[k], `${at}.${k}`, out, root);
      else if (s.additionalProperties === false) out.push(`${at}: unexpected ${k}`);
      else if (typeof s.additionalProperties === 'object') validate(x, s.additionalProperties, `${at}.${k}`, out, root);
    }
  }
  if (Array.isArray(v)) {
    if (s.minItems && v.length < s.minItems) out.push(`${at}: ${v.length} items < ${s.minItems}`);
    if (s.items) v.forEach((x, i) => validate(x, s.items, `${at}[${i}]`, out, root));
  }
  return out;
}

const n = Number(args.n);
// `wgllm run` prints the text and one newline.
const nativeText = fs.readFileSync(args.native, 'utf8').replace(/\n$/, '');
const nativeChatText = fs.readFileSync(args['native-chat'], 'utf8').replace(/\n$/, '');

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  echoConsole(page, 'chat page');
  await page.goto(base + 'index.html');

  // file: a path (Chromium reads it itself: large files go fast) or {name, buffer}.
  async function load(file) {
    await page.setInputFiles('#file', typeof file === 'string' ? file
                             : {name: file.name, mimeType: 'application/octet-stream', buffer: file.buffer});
    await page.click('#load');
    await page.waitForFunction(() => !document.getElementById('load').disabled, null, {timeout: TIMEOUT});
  }
  // chat: the model's chat template around one user turn (as `wgllm run --chat`), else the raw
  // prompt; stopAfter: click Stop once that many tokens have streamed in.
  async function generate({chat = false, tokens = n, stopAfter = 0} = {}) {
    await page.fill('#prompt', args.prompt);
    await page.setChecked('#chat', chat);
    await page.fill('#n', String(tokens));
    await page.fill('#temp', '0');
    await page.click('#clear');
    await page.click('#send');
    if (stopAfter) {
      await page.waitForFunction((k) => /(\d+) tokens \|/.test(document.getElementById('stats').textContent) &&
                                 Number(/(\d+) tokens \|/.exec(document.getElementById('stats').textContent)[1]) >= k,
                                 stopAfter, {timeout: TIMEOUT, polling: 50});
      await page.click('#stop');
    }
    await page.waitForFunction(() => document.body.dataset.state === 'idle' &&
                               document.querySelector('#conversation .assistant'), null, {timeout: TIMEOUT});
    const error = await page.textContent('#error');
    if (error) throw new Error(`the page shows an error: ${error}`);
    return page.evaluate(() => {
      const el = document.querySelector('#conversation .assistant');
      return {text: el.textContent, tokens: JSON.parse(el.dataset.tokens || '[]')};
    });
  }

  await check('chat page: greedy text from the tiny model equals the native run', async () => {
    await load(args.model);
    const error = await page.textContent('#error');
    if (error) throw new Error(`loading failed: ${error}`);
    const got = await generate();
    expectEqual(got.text, nativeText, 'generated text');
    if (got.tokens.length !== n) throw new Error(`${got.tokens.length} tokens, want ${n}`);
    console.log(`  ${got.tokens.length} tokens: ${JSON.stringify(got.tokens)}`);
    console.log(`  stats: ${await page.textContent('#stats')}`);
  });

  await check("chat page: the model's chat template gives the native `run --chat` text", async () => {
    const got = await generate({chat: true});
    expectEqual(got.text, nativeChatText, 'generated text');
  });

  await check('chat page: Stop ends a long generation early; the page then generates again', async () => {
    const got = await generate({tokens: 1000, stopAfter: 3});
    if (!(got.tokens.length >= 3 && got.tokens.length < 1000)) throw new Error(`${got.tokens.length} tokens after Stop`);
    if (!/stopped/.test(await page.textContent('#stats'))) throw new Error('the stats do not say stopped');
    console.log(`  stopped after ${got.tokens.length} tokens`);
    expectEqual((await generate()).text, nativeText, 'generated text after Stop');
  });

  await check('chat page: a corrupt file shows the GGUF error; the page then still works', async () => {
    const corrupt = Buffer.from(model);
    corrupt.write('GGUX', 0);  // wrong magic
    await load({name: 'corrupt.gguf', buffer: corrupt});
    const error = await page.textContent('#error');
    if (!/corrupt\.gguf/.test(error) || !/GGUF/.test(error)) throw new Error(`error message: '${error}'`);
    console.log(`  message: ${error}`);
    await load(args.model);
    const again = await page.textContent('#error');
    if (again) throw new Error(`reloading the valid file failed: ${again}`);
    const got = await generate();
    expectEqual(got.text, nativeText, 'generated text after the error');
  });

  await check('chat page: the built-in demo model, offered by the page (trained, F16), gives the native text', async () => {
    await page.setInputFiles('#file', []);
    await page.click('#demo');  // loads models/demo-kjv-12m-f16.gguf from the bundle by URL
    await page.waitForFunction(() => !document.getElementById('load').disabled, null, {timeout: TIMEOUT});
    const error = await page.textContent('#error');
    if (error) throw new Error(`loading failed: ${error}`);
    await page.fill('#prompt', 'In the beginning');
    await page.uncheck('#chat');
    await page.fill('#n', '12');
    await page.fill('#temp', '0');
    await page.click('#clear');
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.state === 'idle' &&
                               document.querySelector('#conversation .assistant'), null, {timeout: TIMEOUT});
    const text = await page.textContent('#conversation .assistant');
    expectEqual(text, fs.readFileSync(args['demo-native'], 'utf8').replace(/\n$/, ''), 'demo model text');
    console.log(`  'In the beginning' -> '${text}'`);
  });

  // The heap's peak growth while a fresh page loads the demo model (25.3 MB): the weights stream
  // from the File one tensor at a time. Its largest tensors (token_embd, output: F16 384x4096)
  // are 3 MiB; a load holds one of them read from the file plus its repacked upload copy, and
  // the tokenizer; 12 MiB leaves room for that twice over yet is half the file, which the heap
  // held whole before (the growth was then over 25 MB).
  await check('chat page: loading the demo model grows the heap by far less than the file', async () => {
    const fresh = await browser.newPage();
    echoConsole(fresh, 'heap page');
    await fresh.goto(base + 'index.html');
    await fresh.setInputFiles('#file', args.demo);
    await fresh.click('#load');
    await fresh.waitForFunction(() => !document.getElementById('load').disabled, null, {timeout: TIMEOUT});
    const error = await fresh.textContent('#error');
    if (error) throw new Error(`loading failed: ${error}`);
    const growth = Number(await fresh.evaluate(() => document.body.dataset.heapPeakGrowth));
    const bytes = fs.statSync(args.demo).size;
    console.log(`  heap peak growth ${(growth / 2 ** 20).toFixed(2)} MiB for a ${(bytes / 2 ** 20).toFixed(2)} MiB file`);
    if (!(growth > 0 && growth < 12 * 2 ** 20)) throw new Error(`heap peak growth ${growth} bytes, want under 12 MiB`);
    await fresh.close();
  });

  await check('chat page: a model given by URL is downloaded once, then taken from the Cache API', async () => {
    const fresh = await browser.newPage();
    echoConsole(fresh, 'url page');
    for (const want of ['stored', 'hit']) {
      await fresh.goto(base + 'index.html');
      await fresh.fill('#url', base + 'model/tiny.gguf');
      await fresh.click('#load');
      await fresh.waitForFunction(() => !document.getElementById('load').disabled && document.body.dataset.model,
                                  null, {timeout: TIMEOUT});
      expectEqual(await fresh.evaluate(() => document.body.dataset.cache), want, 'cache state');
    }
    expectEqual(modelRequests, 1, 'requests for the model URL');
    await fresh.close();
  });

  await check('benchmark page: the report is valid wgllm-bench/1 JSON and names the browser', async () => {
    const bench = await browser.newPage();
    echoConsole(bench, 'bench page');
    await bench.goto(base + 'bench.html');
    await bench.setInputFiles('#file', args.model);
    await bench.fill('#prompts', '8');
    await bench.fill('#gen', '4');
    await bench.fill('#reps', '2');
    await bench.click('#run');
    await bench.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, {timeout: TIMEOUT});
    const error = await bench.textContent('#error');
    if (error) throw new Error(`the page shows an error: ${error}`);
    const report = JSON.parse(await bench.textContent('#report'));
    const problems = validate(report, JSON.parse(fs.readFileSync(args.schema, 'utf8')));
    if (problems.length) throw new Error(`schema: ${problems.slice(0, 5).join('; ')}`);
    if (!/Chrom/.test(report.host.browser)) throw new Error(`browser '${report.host.browser}'`);
    if (report.rows.length !== 1 || report.rows[0].repetitions !== 2) throw new Error('want one row of 2 repetitions');
    console.log(`  ${report.host.browser}, ${report.adapters[0].device}: decode ${report.rows[0].decode_tok_s.median.toFixed(1)} tok/s`);
  });
} finally {
  await browser.close();
}

await check('no WebGPU adapter: the page says so plainly', async () => {
  const plain = await launchChromium({webgpu: false});
  try {
    const page = await plain.newPage();
    await page.goto(base + 'index.html');
    await page.setInputFiles('#file', args.model);
    await page.click('#load');
    await page.waitForFunction(() => document.getElementById('error').textContent, null, {timeout: TIMEOUT});
    const error = await page.textContent('#error');
    if (!/offered no adapter/.test(error)) throw new Error(`error message: '${error}'`);
    console.log(`  message: ${error}`);
  } finally {
    await plain.close();
  }
});
server.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
