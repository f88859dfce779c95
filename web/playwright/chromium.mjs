// Headless Chromium for the browser tests and `wgllm bench --browser chromium`: Debian's
// /usr/bin/chromium driven by playwright-core (never `playwright install`), WebGPU on.
// $WGLLM_CHROMIUM names another binary.
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'package.json'));

export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// webgpu false: without --enable-unsafe-webgpu (headless Chromium then offers no adapter).
export async function launchChromium({webgpu = true} = {}) {
  let chromium;
  try {
    ({chromium} = require('playwright-core'));
  } catch (e) {
    throw new Error('npm package playwright-core is missing: run scripts/setup (npm install)');
  }
  const executablePath = process.env.WGLLM_CHROMIUM || '/usr/bin/chromium';
  const args = CHROMIUM_ARGS.filter((a) => webgpu || a !== '--enable-unsafe-webgpu');
  return chromium.launch({executablePath, args, headless: true});
}

// Prints the page's console and errors, prefixed, to stderr (what a failing test needs to say).
export function echoConsole(page, prefix) {
  page.on('console', (m) => process.stderr.write(`${prefix} ${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => process.stderr.write(`${prefix} page error: ${e.message}\n`));
}
