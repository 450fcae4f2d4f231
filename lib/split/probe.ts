// Running ONNX models with onnxruntime-node on the calibration samples: to learn the shape
// of every intermediate tensor (one sample) and to compare the original with head → tail.
// This is a command-line tool, so ORT runs on the calling thread, in bounded chunks.
import * as ort from 'onnxruntime-node';
import type { ModelProto } from './onnx-proto';
import { writeModel } from './onnx-proto';

export interface RunOutput { data: Float32Array; dims: number[] }
export interface TensorShape { name: string; dims: number[]; type: string }

const CHUNK = 64;

/** onnxruntime's own log: 3 = errors only (its warnings are noise in a CLI), 0 = verbose. */
let logSeverity: 0 | 1 | 2 | 3 | 4 = 3;
export function setOrtLogSeverity(level: 0 | 1 | 2 | 3 | 4): void {
  logSeverity = level;
  ort.env.logLevel = (['verbose', 'info', 'warning', 'error', 'fatal'] as const)[level];
}
export const ortLogSeverity = () => logSeverity;

export async function openSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, enableCpuMemArena: false, logSeverityLevel: logSeverity });
}

/** The model with more graph outputs (ORT infers their types), to read intermediate tensors. */
export function withOutputs(model: ModelProto, names: string[]): ModelProto {
  const g = model.graph!;
  const have = new Set(g.output.map((v) => v.name));
  return { ...model, graph: { ...g, output: [...g.output, ...names.filter((n) => !have.has(n)).map((name) => ({ name }))] } };
}

/**
 * Runs `session` on `count` inputs of `sampleDims` (no batch axis), CHUNK at a time, and
 * concatenates the named float32 outputs along the batch axis.
 */
export async function runAll(session: ort.InferenceSession, inputName: string, inputs: Float32Array, count: number,
  sampleDims: number[], outputs: string[], chunk = CHUNK): Promise<Record<string, RunOutput>> {
  const per = sampleDims.reduce((a, b) => a * b, 1);
  const result: Record<string, RunOutput> = {};
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const feed = new ort.Tensor('float32', inputs.subarray(start * per, (start + n) * per), [n, ...sampleDims]);
    const out = await session.run({ [inputName]: feed }, outputs);
    for (const name of outputs) {
      const t = out[name];
      if (t.type !== 'float32') throw new Error(`tensor "${name}" is ${t.type}; only a float32 tensor can be split and coded`);
      if (t.dims[0] !== n) throw new Error(`tensor "${name}" has shape [${t.dims}] for a batch of ${n}: axis 0 must be the batch axis`);
      const rowSize = (t.data as Float32Array).length / n;
      result[name] ??= { data: new Float32Array(count * rowSize), dims: [count, ...t.dims.slice(1)] };
      result[name].data.set(t.data as Float32Array, start * rowSize);
    }
  }
  return result;
}

/** Shape and type of every named tensor for one sample (batch 1), by running the model once. */
export async function probeShapes(model: ModelProto, inputName: string, sample: Float32Array, sampleDims: number[],
  names: string[]): Promise<Map<string, TensorShape>> {
  const session = await openSession(writeModel(withOutputs(model, names)));
  try {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', sample, [1, ...sampleDims]) }, names);
    return new Map(names.map((name) => [name, { name, dims: [...out[name].dims], type: out[name].type }]));
  } finally {
    await session.release();
  }
}

export function argmaxRows(data: Float32Array, rows: number): Int32Array {
  const width = data.length / rows;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (data[r * width + k] > data[r * width + best]) best = k;
    out[r] = best;
  }
  return out;
}
