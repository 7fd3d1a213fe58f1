// The package's size and its encoding speed in Node, beside the native figures of
// `cargo bench -p ldp-client --bench encode`. Run: node client/js/bench/encode.mjs
// (after scripts/build-wasm.sh).
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';

import { SimulationEncoder, benchmarkEncode, load } from '../package/index.js';

const wasm = readFileSync(new URL('../package/pkg/ldp_js_bg.wasm', import.meta.url));
console.log(`ldp_js_bg.wasm: ${wasm.length} bytes, ${gzipSync(wasm, { level: 9 }).length} gzipped`);

await load();
const seed = '00'.repeat(32);
const cases = [
  ['oue', { id: 'bench', mechanism: 'oue', epsilon: 1.0, domain: { range: { k: 1024 } } }],
  ['olh', { id: 'bench', mechanism: { olh: { g: null, seed_pool: null } }, epsilon: 1.0, domain: { range: { k: 1024 } } }],
  ['grr', { id: 'bench', mechanism: 'grr', epsilon: 1.0, domain: { range: { k: 1024 } } }],
];

/** The median over `rounds` of the time per report of `run(n)`, in nanoseconds. */
function median(run, n, rounds = 15) {
  run(n); // warm-up
  const times = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    run(n);
    times.push(((performance.now() - start) * 1e6) / n);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)];
}

console.log('| mechanism, k = 1,024, ε = 1 | production encoder, in WebAssembly | seeded rand_chacha encoder, in WebAssembly | seeded, one JavaScript call per report |');
console.log('|---|---|---|---|');
for (const [name, spec] of cases) {
  const production = median((n) => benchmarkEncode(JSON.stringify(spec), 7, n), 100_000);
  const encoder = new SimulationEncoder(JSON.stringify(spec), seed);
  const inner = median((n) => encoder.encodeRepeated(7, n), 100_000);
  const outer = median((n) => {
    for (let i = 0; i < n; i++) {
      encoder.encode('7');
    }
  }, 20_000);
  encoder.free();
  console.log(`| ${name} | ${production.toFixed(0)} ns | ${inner.toFixed(0)} ns | ${outer.toFixed(0)} ns |`);
}
