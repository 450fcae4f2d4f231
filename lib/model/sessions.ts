// The ORT sessions of one inference thread: a pool worker, or the main thread itself when
// the pool runs inline (one CPU: a second V8 isolate costs ~10 MB and only competes for it).
// Opened once (lazy ones on first use); runs the batches the pool hands over.
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

export class OrtSessions {
  private readonly sessions = new Map<string, ort.InferenceSession>();
  /** A lazy model's session, opened once on its first run. */
  private readonly opening = new Map<string, Promise<ort.InferenceSession>>();
  private readonly providers: string[];

  constructor(private readonly init: WorkerInit) {
    this.providers = init.executionProviders ?? ['cpu'];
  }

  private open(m: WorkerModel): Promise<ort.InferenceSession> {
    const providers = this.providers;
    return ort.InferenceSession.create(m.file, {
      executionProviders: providers,
      intraOpNumThreads: this.init.intraOpThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: this.init.logSeverity ?? 3,
      // The arena keeps every batch's peak allocation for good: hundreds of MB per thread.
      enableCpuMemArena: false,
    }).catch((err: Error) => {
      if (providers.every((p) => p === 'cpu')) throw err;
      // A GPU asked for but not usable: say which and how to get it, rather than ORT's library path.
      throw new Error(`execution providers ${providers.join(', ')}: ${err.message.split('\n')[0]} (this onnxruntime-node has ${ort.listSupportedBackends?.().map((b) => b.name).join(', ') ?? 'cpu'}; the CUDA build installs with npm install --onnxruntime-node-install=cuda12, see README)`);
    });
  }

  async load(): Promise<void> {
    for (const m of this.init.models) if (!m.lazy) this.sessions.set(m.key, await this.open(m));
  }

  private async sessionOf(key: string): Promise<ort.InferenceSession | undefined> {
    const have = this.sessions.get(key);
    if (have) return have;
    const m = this.init.models.find((x) => x.key === key && x.lazy);
    if (!m) return undefined;
    let p = this.opening.get(key);
    if (!p) { p = this.open(m); this.opening.set(key, p); p.catch(() => this.opening.delete(key)); }
    const s = await p;
    this.sessions.set(key, s);
    return s;
  }

  /** Never rejects: a failed run is an error reply. */
  async run(req: RunRequest): Promise<WorkerReply> {
    try {
      const session = await this.sessionOf(req.model);
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

  release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    return Promise.all(all.map((s) => s.release().catch(() => undefined))).then(() => undefined);
  }
}
