// One bundle run over many preprocessed inputs, the way a gateway and a tail run it:
// head → (encoder → quantize + rANS code → decode → decoder, for a rate level) → tail.
// Returns every tail output per sample, for lib/task to interpret and compare.
import type { ModelRuntime } from '../model/runtime';
import { RateCodec } from '../codec/rate-codec';
import { Outputs, perSample } from '../task';

export interface BundleRun {
  outputs: Outputs[];
  /** Coded payload bytes per frame (0 for the unsplit run). */
  codedBytes: number;
  idealBytes: number;
  maxCodedBytes: number;
}

// Per call; a model fixed at batch 1 is run sample by sample inside ModelRuntime.
const BATCH = 64;

export async function runBundle(rt: ModelRuntime, inputs: Float32Array, count: number, level: number | null): Promise<BundleRun> {
  const codec = level === null ? null : new RateCodec(rt.manifest.rates[level]);
  const per = inputs.length / count;
  const outputs: Outputs[] = [];
  let coded = 0;
  let ideal = 0;
  let maxCoded = 0;
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const head = await rt.head(inputs.subarray(start * per, (start + n) * per), n);
    let features = head.features;
    if (codec && level !== null) {
      const latent = await rt.encode(level, features, n);
      const restored = new Float32Array(latent.length);
      for (let i = 0; i < n; i++) {
        const frame = codec.encode(latent.subarray(i * codec.symbolCount, (i + 1) * codec.symbolCount));
        coded += frame.payload.length;
        ideal += frame.idealBits / 8;
        maxCoded = Math.max(maxCoded, frame.payload.length);
        restored.set(codec.decode(frame.payload), i * codec.symbolCount);
      }
      features = await rt.decode(level, restored, n);
    }
    outputs.push(...perSample(await rt.tailOutputs(features, n), n));
  }
  return { outputs, codedBytes: coded / count, idealBytes: ideal / count, maxCodedBytes: maxCoded };
}
