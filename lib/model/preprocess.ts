// Raw camera pixels (uint8, channel-major C×H×W) → the head's float input, per the
// manifest: scaled and normalised per channel, written in the model's layout (NCHW or NHWC).
import type { Manifest } from './manifest';
import { InferenceError } from './tensor';

export function pixelsPerFrame(m: Manifest): number {
  const s = m.input.source;
  return s.channels * s.height * s.width;
}

export function preprocessPixels(m: Manifest, pixels: Uint8Array, n: number): Float32Array {
  const per = pixelsPerFrame(m);
  if (pixels.length !== per * n) {
    const s = m.input.source;
    throw new InferenceError('BAD_INPUT', `expected ${n} × ${s.channels}×${s.height}×${s.width} = ${per * n} uint8 pixels, got ${pixels.length}`);
  }
  const { scale, mean, std } = m.input.preprocess;
  const plane = m.input.source.height * m.input.source.width;
  const channels = m.input.source.channels;
  const nhwc = m.input.layout === 'nhwc';
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const within = i % per;
    const c = Math.floor(within / plane);
    // C×H×W position (c, p) goes to H×W×C position (p, c) for an NHWC model.
    const to = nhwc ? i - within + (within % plane) * channels + c : i;
    out[to] = (pixels[i] * scale - mean[c]) / std[c];
  }
  return out;
}
