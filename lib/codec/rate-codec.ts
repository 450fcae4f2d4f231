// One manifest rate level bound to its quantizer and coder tables: latent floats in,
// wire payload out, and back. Tables are built once per rate, not per frame.
import type { RateLevel } from '../model/manifest';
import { quantize, dequantize } from './quantize';
import { buildCoderTables, CoderTables, Clamp } from './tables';
import { encodeSymbols, decodeSymbols } from './rans';
import { crossEntropyBits } from './measure';

export interface CodedFrame { payload: Uint8Array; symbols: Int32Array; idealBits: number }

export class RateCodec {
  readonly tables: CoderTables;
  readonly clamp: Clamp;
  readonly shape: readonly number[];
  readonly symbolCount: number;

  constructor(readonly rate: RateLevel) {
    this.tables = buildCoderTables(rate.entropy);
    this.clamp = { min: rate.quant.min, max: rate.quant.max };
    this.shape = rate.symbolShape;
    this.symbolCount = rate.symbolShape.reduce((a, b) => a * b, 1);
  }

  /** One frame's latent (C·H·W floats) → coded payload. */
  encode(latent: Float32Array): CodedFrame {
    const symbols = quantize(latent, this.rate.quant);
    const payload = encodeSymbols(symbols, this.shape, this.tables, this.clamp);
    return { payload, symbols, idealBits: crossEntropyBits(symbols, this.shape, this.tables, this.clamp) };
  }

  /** Coded payload → symbols. Throws CodecError on a malformed stream. */
  decodeSymbols(payload: Uint8Array): Int32Array {
    return decodeSymbols(payload, this.shape, this.tables, this.clamp);
  }

  /** Coded payload → the dequantized latent the decoder unit takes. */
  decode(payload: Uint8Array): Float32Array {
    return dequantize(this.decodeSymbols(payload), this.rate.quant.step);
  }
}

// One set of coders per manifest, shared by every node that codes its frames; a manifest
// that is gone (an update replaced it) takes its coders with it.
const codersByManifest = new WeakMap<object, RateCodec[]>();

/** The coders of every rate level of a bundle, built once per manifest. */
export function codecsFor(manifest: { rates: RateLevel[] }): RateCodec[] {
  let codecs = codersByManifest.get(manifest);
  if (!codecs) {
    codecs = manifest.rates.map((r) => new RateCodec(r));
    codersByManifest.set(manifest, codecs);
  }
  return codecs;
}
