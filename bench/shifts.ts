// Image shifts for the exits bench: what a camera does in the field (defocus, sensor noise,
// a dim scene, a tilted mount), applied to 8-bit square grey frames.

import { seededRandom } from '../lib/seeded-random';

export type Shift = 'blur' | 'noise' | 'contrast' | 'rotation';
export const SHIFTS: Shift[] = ['blur', 'noise', 'contrast', 'rotation'];

export function shiftImages(images: Uint8Array, side: number, shift: Shift, random: () => number): Uint8Array {
  const per = side * side;
  const out = new Uint8Array(images.length);
  for (let o = 0; o < images.length; o += per) {
    const src = images.subarray(o, o + per);
    const dst = out.subarray(o, o + per);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) dst[y * side + x] = clamp(pixel(src, side, x, y, shift, random));
    }
  }
  return out;
}

const at = (src: Uint8Array, side: number, x: number, y: number) => (x < 0 || y < 0 || x >= side || y >= side ? 0 : src[y * side + x]);

function pixel(src: Uint8Array, side: number, x: number, y: number, shift: Shift, random: () => number): number {
  switch (shift) {
    case 'blur': { // 5x5 box: a defocused lens
      let s = 0;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) s += at(src, side, x + dx, y + dy);
      return s / 25;
    }
    case 'noise': { // Gaussian, sigma 60 grey levels
      const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      return src[y * side + x] + 60 * g;
    }
    case 'contrast': // a dim, flat scene: 30% of the range, lifted
      return 90 + 0.3 * src[y * side + x];
    case 'rotation': { // 35 degrees about the centre, nearest neighbour
      const a = (35 * Math.PI) / 180;
      const c = (side - 1) / 2;
      const sx = Math.round(Math.cos(a) * (x - c) + Math.sin(a) * (y - c) + c);
      const sy = Math.round(-Math.sin(a) * (x - c) + Math.cos(a) * (y - c) + c);
      return at(src, side, sx, sy);
    }
  }
}

function clamp(v: number): number { return v < 0 ? 0 : v > 255 ? 255 : Math.round(v); }

/** Seeded generator (mulberry32, lib/seeded-random). */
export const seeded = seededRandom;
