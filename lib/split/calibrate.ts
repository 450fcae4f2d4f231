// The 8-bit rate level of a split bundle, calibrated on the split tensors of the samples:
// a uniform quantizer whose 2^bits levels cover the range the samples reach, and one
// integer frequency table per channel for the rANS coder (lib/codec does the coding).
import { quantize } from '../codec/quantize';
import { RANS_CODER_NAME } from '../codec/tables';
import type { EntropySpec, QuantSpec } from '../model/manifest';

export const PRECISION_BITS = 14;

/**
 * The [C, H, W] symbol layout of a split tensor of `shape` (batch excluded): C is axis 1 of
 * the tensor (the channels of a CNN), each channel gets its own table. The memory order
 * stays the same, so the encoder and decoder units are reshapes.
 */
export function symbolShapeFor(shape: number[]): [number, number, number] {
  if (shape.length === 0) return [1, 1, 1];
  if (shape.length === 1) return [1, 1, shape[0]];
  if (shape.length === 3) return [shape[0], shape[1], shape[2]];
  return [shape[0], 1, shape.slice(1).reduce((a, b) => a * b, 1)];
}

/** The value at fraction `q` of the sorted data (q = 0: minimum, 1: maximum). */
function quantile(sorted: Float32Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/**
 * step and [min, max] so that 2^bits levels (q·step, q = min..max) span the calibrated range
 * [lo, hi]; `clip` is the fraction of values allowed to clamp at each end (0 = min/max).
 * min need not be 0 or -2^(bits-1): the symbols are integers in any range of 2^bits values,
 * so a ReLU tensor gets 0..255 and a signed one a range around its own values.
 */
export function calibrateQuant(values: Float32Array, bits: number, clip = 0): QuantSpec & { lo: number; hi: number } {
  if (!(Number.isInteger(bits) && bits >= 2 && bits <= 12)) throw new Error(`bits must be an integer 2..12, got ${bits}`);
  if (!(clip >= 0 && clip < 0.5)) throw new Error(`clip must be a fraction in [0, 0.5), got ${clip}`);
  let lo = Infinity;
  let hi = -Infinity;
  if (clip === 0) {
    for (const v of values) if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
  } else {
    const sorted = values.filter(Number.isFinite).sort();
    lo = quantile(sorted, clip);
    hi = quantile(sorted, 1 - clip);
  }
  if (!Number.isFinite(lo)) throw new Error('the split tensor holds no finite value on the calibration samples');
  const levels = 2 ** bits - 1;
  // A constant tensor still needs a positive step; any step codes it exactly.
  const step = hi > lo ? (hi - lo) / levels : Math.max(Math.abs(hi), 1e-6);
  const min = Math.floor(lo / step + 0.5);
  return { step, min, max: min + levels, lo, hi };
}

/**
 * Per-channel counts of the symbols of `count` frames (channel-major within a frame), each
 * table from the smallest to the largest symbol seen (the same convention as
 * models/train/entropy.py); symbols outside it at run time take the coder's escape path.
 */
export function countSymbols(symbols: Int32Array, count: number, shape: [number, number, number]): EntropySpec {
  const [channels, h, w] = shape;
  const perChannel = h * w;
  const frame = channels * perChannel;
  if (symbols.length !== count * frame) throw new Error(`${symbols.length} symbols are not ${count} frames of ${frame}`);
  const tables = [];
  for (let c = 0; c < channels; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let n = 0; n < count; n++) {
      for (let i = n * frame + c * perChannel, end = i + perChannel; i < end; i++) {
        if (symbols[i] < lo) lo = symbols[i];
        if (symbols[i] > hi) hi = symbols[i];
      }
    }
    const counts = new Array<number>(hi - lo + 1).fill(0);
    for (let n = 0; n < count; n++) for (let i = n * frame + c * perChannel, end = i + perChannel; i < end; i++) counts[symbols[i] - lo]++;
    tables.push({ offset: lo, counts });
  }
  return { coder: RANS_CODER_NAME, precisionBits: PRECISION_BITS, channels: tables };
}

export interface CalibratedRate { quant: QuantSpec; range: { lo: number; hi: number }; symbolShape: [number, number, number]; entropy: EntropySpec; bits: number }

/** Quantizer and tables for the split tensors of `count` samples ([count, ...splitShape]). */
export function calibrateRate(features: Float32Array, count: number, splitShape: number[], bits = 8, clip = 0): CalibratedRate {
  const { lo, hi, ...quant } = calibrateQuant(features, bits, clip);
  const symbolShape = symbolShapeFor(splitShape);
  const entropy = countSymbols(quantize(features, quant), count, symbolShape);
  return { quant, range: { lo, hi }, symbolShape, entropy, bits };
}
