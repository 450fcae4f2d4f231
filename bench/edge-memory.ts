// `npm run bench -- edge-memory`: where an edge runtime's memory goes, one step at a time
// in a fresh process each (RSS after a GC, so steps do not hide in each other's garbage):
// Node.js alone, + Node-RED's runtime, + onnxruntime-node, + the bundle's edge sessions
// in the main thread, + the same in one pool worker (the thread's own V8 isolate and ORT
// sessions), the pool inline (what one CPU gets), + a second worker, + the tail and
// decoders too (what lazy loading saves).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { BUNDLE } from '../test/support/paths';

const DIST = path.resolve(__dirname, '..');

const STEPS: Record<string, string> = {
  node: '',
  'node-red runtime': `require('node-red');`,
  'onnxruntime-node': `require('node-red'); require('onnxruntime-node');`,
  'edge sessions in the main thread (head + encoders)': `require('node-red'); const ort = require('onnxruntime-node');
    const { loadBundle } = require('${DIST}/lib/model'); const b = await loadBundle(${JSON.stringify(BUNDLE)});
    const files = [b.manifest.head.file, ...b.manifest.rates.map((r) => r.encoder.file)];
    globalThis.keep = await Promise.all(files.map((f) => ort.InferenceSession.create(b.file(f), { intraOpNumThreads: 1, interOpNumThreads: 1, enableCpuMemArena: false })));`,
  'edge runtime, 1 worker (tail + decoders lazy)': `require('node-red'); const { ModelRuntime } = require('${DIST}/lib/model');
    globalThis.keep = await ModelRuntime.open(${JSON.stringify(BUNDLE)}, { workers: 1, role: 'edge' });`,
  'edge runtime inline (one CPU: the sessions in the main thread, no worker)': `require('node-red'); const { ModelRuntime } = require('${DIST}/lib/model');
    globalThis.keep = await ModelRuntime.open(${JSON.stringify(BUNDLE)}, { inline: true, role: 'edge' });`,
  'edge runtime, 2 workers': `require('node-red'); const { ModelRuntime } = require('${DIST}/lib/model');
    globalThis.keep = await ModelRuntime.open(${JSON.stringify(BUNDLE)}, { workers: 2, role: 'edge' });`,
  'all sessions, 1 worker (before: tail + decoders loaded too)': `require('node-red'); const { ModelRuntime } = require('${DIST}/lib/model');
    globalThis.keep = await ModelRuntime.open(${JSON.stringify(BUNDLE)}, { workers: 1 });`,
};

function measure(code: string): { rssMB: number; heapMB: number; externalMB: number } {
  const script = `(async () => { ${code}
    await new Promise((r) => setTimeout(r, 300)); global.gc(); await new Promise((r) => setTimeout(r, 100));
    const m = process.memoryUsage(); console.log(JSON.stringify({ rssMB: Math.round(m.rss / 1048576), heapMB: Math.round(m.heapUsed / 1048576), externalMB: Math.round(m.external / 1048576) })); process.exit(0); })();`;
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', env: { ...process.env, MALLOC_ARENA_MAX: '2' } }).trim().split('\n').pop()!);
}

export async function run(): Promise<unknown> {
  const steps = Object.entries(STEPS).map(([step, code]) => ({ step, ...measure(code) }));
  return { bench: 'edge-memory', bundle: path.basename(BUNDLE), steps };
}
