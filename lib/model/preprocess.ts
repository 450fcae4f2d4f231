// Frames in the bundle's sample format (uint8, channel-major, `input.source` size, in the
// model's colour order) → the head's float input, per the manifest: x = (p·scale − mean[c]) / std[c],
// written in the model's layout.
import type { Manifest } from './manifest';
import { InferenceError } from './tensor';

export function pixelsPerFrame(m: Pick<Manifest, 'input'>): number {
  const s = m.input.source;
  return s.channels * s.height * s.width;
}

export function preprocessPixels(m: Pick<Manifest, 'input'>, pixels: Uint8Array, n: number): Float32Array {
  const per = pixelsPerFrame(m);
  const s = m.input.source;
  if (pixels.length !== per * n) {
    throw new InferenceError('BAD_INPUT', `expected ${n} × ${s.channels}×${s.height}×${s.width} = ${per * n} uint8 pixels, got ${pixels.length}`);
  }
  const { scale, mean, std } = m.input.preprocess;
  const plane = s.height * s.width;
  const out = new Float32Array(pixels.length);
  // nhwc: the value of channel c at pixel p goes to p·C + c instead of c·plane + p.
  const nhwc = m.input.layout === 'nhwc';
  for (let i = 0; i < pixels.length; i++) {
    const within = i % per;
    const c = Math.floor(within / plane);
    const at = nhwc ? i - within + (within % plane) * s.channels + c : i;
    out[at] = (pixels[i] * scale - mean[c]) / std[c];
  }
  return out;
}
