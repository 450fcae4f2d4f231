// One inference thread: loads its ORT sessions once, then runs batches the pool sends.
// ORT's run() blocks whatever thread calls it, which is why it lives here.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import type { Tensor } from './tensor';

export interface WorkerModel { key: string; file: string; lazy?: boolean }
export interface WorkerInit { models: WorkerModel[]; intraOpThreads: number; logSeverity?: 0 | 1 | 2 | 3 | 4; executionProviders?: string[] }
export interface RunRequest { id: number; model: string; feeds: Record<string, Tensor>; outputs?: string[] }
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, Tensor> }
  | { type: 'error'; id: number; message: string };

const init = workerData as WorkerInit;
const sessions = new Map<string, ort.InferenceSession>();
const port = parentPort!;

const providers = init.executionProviders ?? ['cpu'];
const open = (m: WorkerModel) => ort.InferenceSession.create(m.file, {
  executionProviders: providers,
  intraOpNumThreads: init.intraOpThreads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  logSeverityLevel: init.logSeverity ?? 3,
  // The arena keeps every batch's peak allocation for good: hundreds of MB per thread.
  enableCpuMemArena: false,
}).catch((err: Error) => {
  if (providers.every((p) => p === 'cpu')) throw err;
  // A GPU asked for but not usable: say which and how to get it, rather than ORT's library path.
  throw new Error(`execution providers ${providers.join(', ')}: ${err.message.split('\n')[0]} (this onnxruntime-node has ${ort.listSupportedBackends?.().map((b) => b.name).join(', ') ?? 'cpu'}; the CUDA build installs with npm install --onnxruntime-node-install=cuda12, see README)`);
});

/** A lazy model's session, opened once on its first run. */
const opening = new Map<string, Promise<ort.InferenceSession>>();

async function load(): Promise<void> {
  for (const m of init.models) if (!m.lazy) sessions.set(m.key, await open(m));
}

async function sessionOf(key: string): Promise<ort.InferenceSession | undefined> {
  const have = sessions.get(key);
  if (have) return have;
  const m = init.models.find((x) => x.key === key && x.lazy);
  if (!m) return undefined;
  let p = opening.get(key);
  if (!p) { p = open(m); opening.set(key, p); p.catch(() => opening.delete(key)); }
  const s = await p;
  sessions.set(key, s);
  return s;
}

async function run(req: RunRequest): Promise<WorkerReply> {
  try {
    const session = await sessionOf(req.model);
    if (!session) return { type: 'error', id: req.id, message: `no model "${req.model}" in this pool` };
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(req.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const result = req.outputs ? await session.run(feeds, req.outputs) : await session.run(feeds);
    const outputs: Record<string, Tensor> = {};
    for (const [name, value] of Object.entries(result)) {
      if (value.type !== 'float32') throw new Error(`output "${name}" is ${value.type}, only float32 is supported`);
      outputs[name] = { data: value.data as Float32Array, dims: [...value.dims] };
    }
    return { type: 'result', id: req.id, outputs };
  } catch (err) {
    return { type: 'error', id: req.id, message: (err as Error).message };
  }
}

load().then(
  () => port.postMessage({ type: 'ready' } satisfies WorkerReply),
  (err: Error) => port.postMessage({ type: 'load-error', message: err.message } satisfies WorkerReply),
);

port.on('message', (req: RunRequest) => {
  void run(req).then((reply) => {
    const transfer = reply.type === 'result' ? Object.values(reply.outputs).map((t) => t.data.buffer as ArrayBuffer) : [];
    port.postMessage(reply, transfer);
  });
});

process.on('exit', () => {
  for (const s of sessions.values()) void s.release();
});
