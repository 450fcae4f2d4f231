import { CodecError } from './errors';
import { escapeFreq } from './rans';
import { Clamp, CoderTables, ESCAPE_PRECISION_BITS, checkClamp, checkShape } from './tables';

/**
 * Ideal code length (bits) of sym under the normalized tables, escapes included
 * (escape symbol plus the escaped value's share of the 2^16 escape slots). A measurement,
 * so floating point is fine here; the coder itself never uses it.
 */
export function crossEntropyBits(sym: Int32Array, shape: readonly number[], tables: CoderTables, clamp: Clamp): number {
  if (!(sym instanceof Int32Array)) throw new CodecError('BAD_INPUT', 'symbols must be an Int32Array');
  checkClamp(clamp);
  const perChannel = checkShape(shape, tables, Number.MAX_SAFE_INTEGER);
  if (perChannel * shape[0] !== sym.length) throw new CodecError('BAD_SHAPE', 'shape does not match the symbols');
  const p = tables.precisionBits;
  const range = clamp.max - clamp.min + 1;
  const escapeValueBits = (v: number): number => ESCAPE_PRECISION_BITS - Math.log2(escapeFreq(v, range));
  let bits = 0;
  for (let c = 0; c < shape[0]; c++) {
    const { offset, size, freq } = tables.channels[c];
    const cost = Array.from(freq, (f) => p - Math.log2(f));
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) {
      if (sym[i] < clamp.min || sym[i] > clamp.max) throw new CodecError('SYMBOL_OUT_OF_RANGE', `symbol ${sym[i]} at ${i} is outside the clamp`);
      const k = sym[i] - offset;
      bits += k >= 0 && k < size ? cost[k] : cost[size] + escapeValueBits(sym[i] - clamp.min);
    }
  }
  return bits;
}
