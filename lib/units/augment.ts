// Extra training views for train-units: shifted, mirrored and re-lit copies of the training
// frames. The teacher is the original model run on each copy, so no label has to survive the
// change (distillation only asks the unit to keep what the tail computes on such frames);
// with a few thousand images the units otherwise learn the training set by heart (100% on
// train, ~96% on validation for Fashion-MNIST).

import { seededRandom } from '../seeded-random';

export interface FrameShape { channels: number; height: number; width: number }

/** The changes are drawn from a seed, so a run's views can be made again. */
export const random = seededRandom;

export interface ViewChange { dx: number; dy: number; mirror: boolean; gain: number; offset: number }

/** One random change: a shift of up to 1/8 of each side, a mirror half the time, and
 *  ±15% contrast with ±10 levels of brightness. */
export function drawChange(shape: FrameShape, rnd: () => number): ViewChange {
  const reach = (n: number) => Math.max(1, Math.round(n / 8));
  const shift = (n: number) => Math.round((rnd() * 2 - 1) * reach(n));
  return { dx: shift(shape.width), dy: shift(shape.height), mirror: rnd() < 0.5, gain: 0.85 + 0.3 * rnd(), offset: Math.round((rnd() * 2 - 1) * 10) };
}

/** Applies `change` to one channel-major uint8 frame; pixels shifted in repeat the edge. */
export function changeFrame(src: Uint8Array, shape: FrameShape, c: ViewChange, out: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  const { channels: C, height: H, width: W } = shape;
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (let ch = 0; ch < C; ch++) {
    const plane = ch * H * W;
    for (let y = 0; y < H; y++) {
      const sy = clamp(y - c.dy, H - 1);
      for (let x = 0; x < W; x++) {
        let sx = clamp(x - c.dx, W - 1);
        if (c.mirror) sx = W - 1 - sx;
        const v = src[plane + sy * W + sx] * c.gain + c.offset;
        out[plane + y * W + x] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  return out;
}

/** `n` frames of `frames`, each changed at random (view `view` of a run seeded by `seed`). */
export function augmentFrames(frames: Uint8Array, n: number, shape: FrameShape, seed: number, view: number): Uint8Array {
  const per = shape.channels * shape.height * shape.width;
  const rnd = random(seed * 7919 + view);
  const out = new Uint8Array(n * per);
  for (let i = 0; i < n; i++) {
    changeFrame(frames.subarray(i * per, (i + 1) * per), shape, drawChange(shape, rnd), out.subarray(i * per, (i + 1) * per));
  }
  return out;
}
