// The pages' handle on the engine worker (worker.js): requests as promises, tokens and log lines
// as callbacks. Every page uses this; the model itself runs only in the worker's WebAssembly.
export class EngineClient {
  constructor({onToken, onLog, onCache} = {}) {
    this.worker = new Worker('worker.js');
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'token') return onToken && onToken(m.id, m.text);
      if (m.type === 'log') return onLog ? onLog(m.text) : console.log(m.text);
      if (m.type === 'cache') return onCache && onCache(m);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.type === 'error') p.reject(new Error(m.message));
      else p.resolve(m);
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`the engine worker failed: ${e.message}`));
      this.pending.clear();
    };
  }
  request(msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject});
      this.worker.postMessage(Object.assign({id}, msg));
    });
  }
  stop() { this.worker.postMessage({type: 'stop'}); }
}

// "Chrome 156.0.8078.79" from the user-agent data (or the user-agent string).
export async function browserName() {
  const uad = navigator.userAgentData;
  if (uad && uad.getHighEntropyValues) {
    try {
      const v = await uad.getHighEntropyValues(['fullVersionList']);
      const brands = (v.fullVersionList || []).filter((b) => !/Not.?A.?Brand/i.test(b.brand));
      const b = brands.find((x) => /Chrom|Edge|Opera/.test(x.brand) && x.brand !== 'Chromium') ||
                brands.find((x) => x.brand === 'Chromium') || brands[0];
      if (b) return `${b.brand} ${b.version}`;
    } catch (e) { /* fall back to the user-agent string */ }
  }
  const m = navigator.userAgent.match(/(Firefox|Edg|HeadlessChrome|Chrome|Version)\/([\d.]+)/);
  return m ? `${m[1] === 'Version' ? 'Safari' : m[1]} ${m[2]}` : navigator.userAgent;
}
