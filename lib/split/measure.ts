// The written bundle measured the way a gateway and a tail run it: lib/model's runtime
// (head, encoder, decoder, tail in worker threads) and lib/codec's quantizer and rANS coder.
import { ModelRuntime } from '../model/runtime';
import { RateCodec } from '../codec/rate-codec';
import { Agreement, accuracy, agreement } from './probe';

export interface RateMeasurement extends Agreement {
  accuracy: number | null;
  codedBytes: number;
  idealBytes: number;
  /** Frames whose coded size is the largest seen. */
  maxCodedBytes: number;
}

const BATCH = 64;

/** Every sample through head → encoder → quantize + code → decode → decoder → tail. */
export async function measureRate(rt: ModelRuntime, level: number, inputs: Float32Array, count: number,
  original: Float32Array, labels: Uint8Array | null): Promise<RateMeasurement> {
  const m = rt.manifest;
  const codec = new RateCodec(m.rates[level]);
  const per = inputs.length / count;
  const classes = original.length / count;
  const logits = new Float32Array(count * classes);
  let coded = 0;
  let ideal = 0;
  let maxCoded = 0;
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const head = await rt.head(inputs.subarray(start * per, (start + n) * per), n);
    const latent = await rt.encode(level, head.features, n);
    const restored = new Float32Array(latent.length);
    for (let i = 0; i < n; i++) {
      const frame = codec.encode(latent.subarray(i * codec.symbolCount, (i + 1) * codec.symbolCount));
      coded += frame.payload.length;
      ideal += frame.idealBits / 8;
      maxCoded = Math.max(maxCoded, frame.payload.length);
      restored.set(codec.decode(frame.payload), i * codec.symbolCount);
    }
    logits.set(await rt.tail(await rt.decode(level, restored, n), n), start * classes);
  }
  return { ...agreement(original, logits, count), accuracy: accuracy(logits, labels), codedBytes: coded / count, idealBytes: ideal / count, maxCodedBytes: maxCoded };
}
