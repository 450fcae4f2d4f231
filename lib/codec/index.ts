export { CodecError } from './errors';
export type { CodecErrorCode } from './errors';
export { checkQuant, dequantize, quantize } from './quantize';
export type { QuantSpec } from './quantize';
export {
  ESCAPE_PRECISION_BITS,
  MAX_CLAMP_RANGE,
  MAX_PRECISION_BITS,
  MIN_PRECISION_BITS,
  RANS_CODER_NAME,
  RANS_L,
  buildCoderTables,
  normalizeCounts,
} from './tables';
export type { ChannelSpec, ChannelTable, Clamp, CoderTables, EntropySpec } from './tables';
export { DEFAULT_CODEC_LIMITS, decodeSymbols, encodeSymbols } from './rans';
export type { CodecLimits } from './rans';
export { crossEntropyBits } from './measure';
