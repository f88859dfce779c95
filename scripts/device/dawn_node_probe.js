// Lists what the Dawn inside npm `webgpu` (dawn.node, a Node addon: it exports no webgpu.h C API,
// so the native engine cannot load it) offers on this machine's adapter: features, limits and the
// subgroup-matrix configurations. Session 9 ran it on the H200 (docs/benchmarks/
// h200-dawn-node-features-2026-12-04-s9.txt): i8 x i8 -> i32 subgroup matrices, which the
// bundled Dawn (bun-webgpu 0.1.7) does not expose there.
// Usage: node scripts/device/dawn_node_probe.js path/to/dawn.node
//   (npm pack webgpu@0.6.2; the addon is package/dist/linux-x64/dawn.node; Node 20 runs it)
const path = require('path');
const dawn = require(path.resolve(process.argv[2]));
const gpu = dawn.create(['enable-dawn-features=allow_unsafe_apis']);
(async () => {
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!a) throw new Error('no adapter');
  const info = a.info;
  console.log('adapter', info.vendor, info.architecture, info.device, info.description);
  console.log('features', [...a.features].sort().join(' '));
  console.log('limits: wg storage', a.limits.maxComputeWorkgroupStorageSize, 'invocations',
              a.limits.maxComputeInvocationsPerWorkgroup);
  for (const c of info.subgroupMatrixConfigs || [])  // host objects: JSON.stringify sees no fields
    console.log('subgroup matrix', c.componentType, '->', c.resultComponentType, `${c.M} x ${c.N} x ${c.K}`);
  if (a.features.has('chromium-experimental-subgroup-matrix')) {
    const d = await a.requestDevice({ requiredFeatures: ['chromium-experimental-subgroup-matrix'] });
    console.log('device with subgroup-matrix:', d ? 'yes' : 'no');
  }
  process.exit(0);
})().catch(e => { console.log('error', e.message); process.exit(1); });
