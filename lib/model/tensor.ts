// Plain tensors as they cross the worker boundary, and the checks that run before ORT
// sees them: ORT's own errors for a bad shape are terse and arrive after a thread hop.

export interface Tensor {
  data: Float32Array;
  /** Full dims including the batch axis. */
  dims: number[];
}

/** Expected dims of one model input; -1 marks the batch axis. */
export type InputSpec = Record<string, number[]>;

export type InferenceErrorCode = 'BAD_INPUT' | 'ORT_RUN' | 'WORKER_EXIT' | 'POOL_CLOSED' | 'NO_MODEL' | 'LOAD_FAILED';

export class InferenceError extends Error {
  constructor(readonly code: InferenceErrorCode, message: string) {
    super(message);
    this.name = 'InferenceError';
  }
}

export function elementCount(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Checks names, dtype, dims and finiteness; returns the batch size. */
export function checkFeeds(model: string, spec: InputSpec, feeds: Record<string, Tensor>): number {
  const bad = (why: string) => new InferenceError('BAD_INPUT', `${model}: ${why}`);
  let batch = -1;
  for (const [name, expected] of Object.entries(spec)) {
    const t = feeds[name];
    if (!t) throw bad(`missing input "${name}"`);
    if (!(t.data instanceof Float32Array)) throw bad(`input "${name}" must be float32, got ${Object.prototype.toString.call(t.data).slice(8, -1)}`);
    const dimsOk = t.dims.length === expected.length &&
      t.dims.every((d, i) => Number.isInteger(d) && d > 0 && (expected[i] === -1 || expected[i] === d));
    if (!dimsOk) throw bad(`input "${name}" has shape [${t.dims}], expected [${expected.map((d) => (d === -1 ? 'N' : d))}]`);
    if (t.data.length !== elementCount(t.dims)) {
      throw bad(`input "${name}" has ${t.data.length} values for shape [${t.dims}] (${elementCount(t.dims)})`);
    }
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i])) throw bad(`input "${name}" holds a non-finite value at index ${i}`);
    }
    if (batch === -1) batch = t.dims[0];
    else if (batch !== t.dims[0]) throw bad(`inputs disagree on the batch size (${batch} vs ${t.dims[0]})`);
  }
  for (const name of Object.keys(feeds)) {
    if (!(name in spec)) throw bad(`unknown input "${name}" (expected ${Object.keys(spec).join(', ')})`);
  }
  return batch;
}
