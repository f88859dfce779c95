// `wgllm bench --browser chromium` runs this: opens bench.html (served by the CLI on 127.0.0.1)
// in headless Chromium with the model's URL and settings, waits for the engine's report and
// writes it (wgllm-bench/1 JSON) to --out.
//   node bench_driver.mjs --page http://127.0.0.1:PORT/bench.html --model URL --prompts 16,64
//                         --gen 16 --reps 3 --out report.json [--timeout-s 1800]
import fs from 'node:fs';
import {launchChromium, echoConsole} from './chromium.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['page', 'model', 'out'])
  if (!args[k]) { console.error(`bench_driver: --${k} is required`); process.exit(2); }

const browser = await launchChromium();
try {
  const page = await browser.newPage();
  echoConsole(page, 'browser');
  const q = new URLSearchParams({model: args.model, reps: args.reps || '3', auto: '1'});
  if (args.prompts) q.set('prompts', args.prompts);
  if (args.gen) q.set('gen', args.gen);
  await page.goto(`${args.page}?${q}`);
  const timeout = 1000 * Number(args['timeout-s'] || 1800);
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, {timeout, polling: 500});
  if (await page.evaluate(() => document.body.dataset.state) === 'error')
    throw new Error(`the benchmark page failed: ${await page.textContent('#error')}`);
  fs.writeFileSync(args.out, (await page.textContent('#report')) + '\n');
} finally {
  await browser.close();
}
