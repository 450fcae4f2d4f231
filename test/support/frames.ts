// Features frames made the way bottleneck-encode makes them, for tests that feed a tail.
import { ModelRuntime, readSamples, sampleImage, preprocessPixels } from '../../lib/model';
import { RateCodec } from '../../lib/codec/rate-codec';
import { encodeFrame } from '../../lib/wire';

export async function featuresFrame(rt: ModelRuntime, sample: number, level: number, seq: number, gateway = 'gw-test', bootId = 42): Promise<Buffer> {
  const set = await readSamples(rt.bundle);
  const head = await rt.head(preprocessPixels(rt.manifest, sampleImage(set, sample), 1), 1);
  const latent = await rt.encode(level, head.features, 1);
  const codec = new RateCodec(rt.manifest.rates[level]);
  return encodeFrame({
    kind: 'features', rateLevel: level, modelId: rt.modelId, gatewayId: gateway, bootId, seq,
    timestampMs: Date.now(), shape: codec.shape, payload: codec.encode(latent).payload,
  });
}
