// A pool of inference threads. Requests for the same model that queue up while the
// threads are busy are concatenated along the batch axis and run as one ORT call, which
// is where most of the throughput under load comes from. With one CPU the pool runs its
// sessions inline, in this thread: a worker is a second V8 isolate (~10 MB) and every
// frame a structured-clone copy each way, for a thread that could only compete for the CPU.
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import { cpuBudget } from './cpus';
import { InferenceError, InputSpec, Tensor, checkFeeds, elementCount } from './tensor';
import { OrtSessions, RunRequest, WorkerInit, WorkerModel, WorkerReply } from './sessions';

export interface PoolModel extends WorkerModel {
  /** Expected inputs; when given, feeds are checked before they reach ORT. */
  inputs?: InputSpec;
  /** Most samples one run may hold: 1 for a model whose batch axis is fixed at 1 (never concatenated). */
  maxBatch?: number;
}

export interface PoolOptions {
  workers?: number;
  intraOpThreads?: number;
  /** Largest number of frames concatenated into one run. */
  maxBatch?: number;
  /** Models whose sessions load on first use, not at start (an edge never runs the tail). */
  lazy?: string[];
  /** onnxruntime's own log level, 0 verbose … 3 errors only (default) … 4 fatal. */
  ortLogSeverity?: 0 | 1 | 2 | 3 | 4;
  /** onnxruntime execution providers in order, e.g. ['cuda', 'cpu']; default SPLIT_DNN_EXECUTION_PROVIDERS, else ['cpu']. */
  executionProviders?: string[];
  /**
   * Run the sessions in this thread rather than in worker threads (the count is then 1).
   * Default: when the pool would have one worker and the process one CPU (cgroup quota).
   */
  inline?: boolean;
}

/** SPLIT_DNN_EXECUTION_PROVIDERS=cuda,cpu: how a cloud machine with a GPU asks for it. */
export function providersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const list = (env.SPLIT_DNN_EXECUTION_PROVIDERS ?? '').split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
  return list.length ? list : ['cpu'];
}

interface Pending {
  /** Arrival order across all models: the oldest waiting request is served first. */
  order: number;
  feeds: Record<string, Tensor>;
  batch: number;
  resolve: (out: Record<string, Tensor>) => void;
  reject: (err: Error) => void;
}

interface Slot {
  /** Hands a request to the thread; its reply comes back through onReply. */
  post(req: RunRequest): void;
  close(): Promise<unknown>;
  /** Null for the inline slot. */
  worker: Worker | null;
  ready: Promise<void>;
  busy: Pending[] | null;
  requestId: number;
  isReady: boolean;
}

export interface PoolStats { runs: number; frames: number; errors: number; queued: number; workers: number; inline: boolean }

function concatFeeds(items: Pending[]): Record<string, Tensor> {
  if (items.length === 1) return items[0].feeds;
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(items[0].feeds)) {
    const parts = items.map((p) => p.feeds[name]);
    const total = parts.reduce((n, t) => n + t.data.length, 0);
    const data = new Float32Array(total);
    let at = 0;
    for (const t of parts) { data.set(t.data, at); at += t.data.length; }
    out[name] = { data, dims: [parts.reduce((n, t) => n + t.dims[0], 0), ...parts[0].dims.slice(1)] };
  }
  return out;
}

function sliceOutputs(outputs: Record<string, Tensor>, items: Pending[]): Record<string, Tensor>[] {
  const total = items.reduce((n, p) => n + p.batch, 0);
  const result: Record<string, Tensor>[] = items.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    const per = elementCount(t.dims) / t.dims[0];
    if (t.dims[0] !== total) throw new InferenceError('ORT_RUN', `output "${name}" has batch ${t.dims[0]}, expected ${total}`);
    let row = 0;
    items.forEach((p, i) => {
      const data = items.length === 1 ? t.data : t.data.slice(row * per, (row + p.batch) * per);
      result[i][name] = { data, dims: [p.batch, ...t.dims.slice(1)] };
      row += p.batch;
    });
  }
  return result;
}

export class InferencePool {
  private readonly models = new Map<string, PoolModel>();
  private readonly queues = new Map<string, Pending[]>();
  private readonly slots: Slot[] = [];
  private readonly maxBatch: number;
  private readonly init: WorkerInit;
  private closed = false;
  private arrivals = 0;
  private loadError: InferenceError | null = null;
  private readonly stats = { runs: 0, frames: 0, errors: 0 };
  readonly inline: boolean;
  readonly ready: Promise<void>;

  constructor(models: PoolModel[], opts: PoolOptions = {}) {
    for (const m of models) this.models.set(m.key, m);
    this.maxBatch = opts.maxBatch ?? 256;
    this.init = { models: models.map(({ key, file }) => ({ key, file, lazy: opts.lazy?.includes(key) || undefined })), intraOpThreads: opts.intraOpThreads ?? 1, logSeverity: opts.ortLogSeverity ?? 3, executionProviders: opts.executionProviders ?? providersFromEnv() };
    // By the CPUs the cgroup allows, not the host's cores: on one CPU a second thread only competes.
    const cpus = cpuBudget();
    const count = opts.workers ?? Math.min(2, cpus);
    this.inline = opts.inline ?? (count === 1 && cpus === 1);
    if (this.inline) this.slots.push(this.inlineSlot());
    else for (let i = 0; i < count; i++) this.slots.push(this.spawn());
    this.ready = Promise.all(this.slots.map((s) => s.ready)).then(() => undefined);
    // Load failures surface through `ready`; keep them from being unhandled rejections.
    this.ready.catch(() => undefined);
  }

  /**
   * The sessions in this thread. A run is taken from the queue one event-loop turn after the
   * slot frees, so the frames that arrived meanwhile join it; ORT's run then blocks this
   * thread for the batch (well under a millisecond a frame for a gateway-sized head).
   */
  private inlineSlot(): Slot {
    const sessions = new OrtSessions(this.init);
    const slot: Slot = {
      worker: null, busy: null, requestId: 0, isReady: false, ready: Promise.resolve(),
      post: (req) => { void sessions.run(req).then((reply) => this.onReply(slot, reply)); },
      close: () => sessions.release(),
    };
    slot.ready = sessions.load().then(() => { slot.isReady = true; this.pump(); }, (err: Error) => {
      this.loadError = new InferenceError('LOAD_FAILED', err.message);
      void sessions.release();
      throw this.loadError;
    });
    return slot;
  }

  private spawn(): Slot {
    const worker = new Worker(path.join(__dirname, 'pool-worker.js'), { workerData: this.init });
    worker.unref();
    // Copies, not transfers: the caller may still hold its input arrays.
    const slot: Slot = { worker, post: (req) => worker.postMessage(req), close: () => worker.terminate(), busy: null, requestId: 0, ready: Promise.resolve(), isReady: false };
    slot.ready = new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          slot.isReady = true;
          resolve();
          this.pump();
        } else if (msg.type === 'load-error') {
          this.loadError = new InferenceError('LOAD_FAILED', msg.message);
          reject(this.loadError);
        } else {
          this.onReply(slot, msg);
        }
      });
      worker.once('error', (err) => {
        this.loadError ??= new InferenceError('LOAD_FAILED', err.message);
        reject(this.loadError);
      });
    });
    worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onReply(slot: Slot, msg: WorkerReply): void {
    const items = slot.busy;
    if (!items || (msg.type !== 'result' && msg.type !== 'error') || msg.id !== slot.requestId) return;
    slot.busy = null;
    if (msg.type === 'error') {
      this.stats.errors++;
      const err = new InferenceError('ORT_RUN', msg.message);
      for (const p of items) p.reject(err);
    } else {
      try {
        const parts = sliceOutputs(msg.outputs, items);
        items.forEach((p, i) => p.resolve(parts[i]));
      } catch (err) {
        for (const p of items) p.reject(err as Error);
      }
    }
    this.pump();
  }

  private onExit(slot: Slot, code: number): void {
    const items = slot.busy;
    slot.busy = null;
    if (items) for (const p of items) p.reject(new InferenceError('WORKER_EXIT', `inference thread exited (code ${code}) during a run`));
    const index = this.slots.indexOf(slot);
    // Only a thread that had loaded is replaced: one that cannot load would loop.
    if (this.closed || index < 0 || !slot.isReady) return;
    // A crashed thread is replaced so one bad run cannot shrink the pool for good.
    this.slots[index] = this.spawn();
  }

  /** Run one model. Resolves with outputs whose batch equals the input batch. */
  run(model: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.closed) return Promise.reject(new InferenceError('POOL_CLOSED', 'inference pool is closed'));
    if (this.loadError) return Promise.reject(this.loadError);
    const spec = this.models.get(model);
    if (!spec) return Promise.reject(new InferenceError('NO_MODEL', `no model "${model}" in this pool`));
    let batch: number;
    try {
      batch = spec.inputs ? checkFeeds(model, spec.inputs, feeds) : (Object.values(feeds)[0]?.dims[0] ?? 1);
      if (spec.maxBatch !== undefined && batch > spec.maxBatch) {
        throw new InferenceError('BAD_INPUT', `${model}: the model's batch axis is fixed at ${spec.maxBatch}; got a batch of ${batch} (send one sample per run)`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(model) ?? [];
      queue.push({ order: this.arrivals++, feeds, batch, resolve, reject });
      this.queues.set(model, queue);
      this.pump();
    });
  }

  private takeBatch(): { model: string; items: Pending[] } | null {
    // The model whose oldest request has waited longest goes first: a pipeline's later
    // stages (tail, decoder) must not starve behind a steady stream of head requests.
    let best: string | null = null;
    for (const [model, q] of this.queues) if (q.length && (!best || q[0].order < this.queues.get(best)![0].order)) best = model;
    if (!best) return null;
    const queue = this.queues.get(best)!;
    const spec = this.models.get(best)!;
    const cap = Math.min(this.maxBatch, spec.maxBatch ?? Infinity);
    const items: Pending[] = [];
    let frames = 0;
    const sameShape = (p: Pending) => Object.entries(p.feeds).every(([n, t]) =>
      t.dims.slice(1).join() === queue[0].feeds[n]?.dims.slice(1).join());
    while (queue.length && (items.length === 0 || (frames + queue[0].batch <= cap && sameShape(queue[0]) && spec.inputs))) {
      const p = queue.shift()!;
      items.push(p);
      frames += p.batch;
    }
    return { model: best, items };
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || !slot.isReady) continue;
      if (!this.waiting()) return;
      if (slot.worker) { this.dispatch(slot); continue; }
      // Inline: held for a turn (busy, empty) so the frames arriving in it join the run.
      slot.busy = [];
      setImmediate(() => this.dispatch(slot));
    }
  }

  private dispatch(slot: Slot): void {
    const job = this.closed ? null : this.takeBatch();
    if (!job) { slot.busy = null; return; }
    slot.busy = job.items;
    slot.requestId++;
    this.stats.runs++;
    this.stats.frames += job.items.reduce((n, p) => n + p.batch, 0);
    slot.post({ id: slot.requestId, model: job.model, feeds: concatFeeds(job.items) });
  }

  private waiting(): number {
    let queued = 0;
    for (const q of this.queues.values()) queued += q.length;
    return queued;
  }

  getStats(): PoolStats {
    return { ...this.stats, queued: this.waiting(), workers: this.slots.length, inline: this.inline };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new InferenceError('POOL_CLOSED', 'inference pool closed');
    for (const q of this.queues.values()) for (const p of q.splice(0)) p.reject(err);
    for (const s of this.slots) if (s.busy) for (const p of s.busy.splice(0)) p.reject(err);
    await Promise.all(this.slots.map((s) => s.close()));
  }
}
