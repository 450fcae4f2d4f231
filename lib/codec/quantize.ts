import { CodecError } from './errors';

/** The manifest's `quant` of a rate level. */
export interface QuantSpec {
  step: number;
  min: number;
  max: number;
}

export const INT32_MIN = -0x8000_0000;
export const INT32_MAX = 0x7fff_ffff;

export function checkQuant(q: QuantSpec): void {
  if (typeof q !== 'object' || q === null) throw new CodecError('BAD_QUANT', 'quant must be an object');
  if (typeof q.step !== 'number' || !Number.isFinite(q.step) || q.step <= 0) {
    throw new CodecError('BAD_QUANT', `step must be a finite number > 0, got ${String(q.step)}`);
  }
  checkIntRange(q.min, q.max, 'BAD_QUANT');
}

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** min/max integers in int32 with min <= max (shared with the coder's clamp check). */
export function checkIntRange(min: number, max: number, code: 'BAD_QUANT' | 'BAD_CLAMP'): void {
  if (!isInt32(min) || !isInt32(max) || min > max) {
    throw new CodecError(code, `min/max must be int32 with min <= max, got ${String(min)}..${String(max)}`);
  }
}

/**
 * q = clamp(floor(y / step + 0.5), min, max), in IEEE double arithmetic (exact for float32
 * inputs, and correctly rounded everywhere, so every platform gets the same symbols).
 * NaN maps to clamp(0): deterministic, and it keeps a bad activation from breaking the frame.
 */
export function quantize(y: Float32Array | Float64Array, q: QuantSpec): Int32Array {
  if (!(y instanceof Float32Array || y instanceof Float64Array)) {
    throw new CodecError('BAD_INPUT', 'quantize expects a Float32Array or Float64Array');
  }
  checkQuant(q);
  const { step, min, max } = q;
  const nanValue = Math.min(Math.max(0, min), max);
  const out = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const v = Math.floor(y[i] / step + 0.5);
    out[i] = v < min ? min : v > max ? max : v === v ? v : nanValue;
  }
  return out;
}

/** y' = q * step, rounded to float32. */
export function dequantize(sym: Int32Array, step: number): Float32Array {
  if (!(sym instanceof Int32Array)) throw new CodecError('BAD_INPUT', 'dequantize expects an Int32Array');
  if (typeof step !== 'number' || !Number.isFinite(step) || step <= 0) {
    throw new CodecError('BAD_QUANT', `step must be a finite number > 0, got ${String(step)}`);
  }
  const out = new Float32Array(sym.length);
  for (let i = 0; i < sym.length; i++) out[i] = sym[i] * step;
  return out;
}
