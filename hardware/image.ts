// Image bytes (PNG, JPEG, or raw pixels of a known size) → the bundle's input: uint8,
// channel-major, `channels`×`height`×`width`, as split-head takes it. Pure JavaScript
// (pngjs, jpeg-js) so a gateway needs no native image library.
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';

/** The input a model bundle's manifest declares in `input.source`. */
export interface FrameShape { height: number; width: number; channels: number }

/** Decoded pixels, interleaved (RGBA or gray), row-major. */
export interface Picture { width: number; height: number; channels: 1 | 3 | 4; data: Uint8Array }

export type Fit = 'crop' | 'stretch' | 'pad';

export interface ConvertOptions {
  /** crop: centre-crop to the target's aspect ratio; stretch: squeeze; pad: letterbox in black. */
  fit?: Fit;
  /** Negate the pixels (Fashion-MNIST objects are light on a black background, photos are not). */
  invert?: boolean;
}

export class ImageError extends Error {}

const MAX_PIXELS = 50e6; // refuse absurd headers before allocating

export function imageKind(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** PNG or JPEG bytes → pixels. */
export function decodeImage(bytes: Uint8Array, name = 'image'): Picture {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = imageKind(bytes);
  try {
    if (kind === 'png') {
      // IHDR comes first: check the size it claims before pngjs allocates for it.
      const w = buffer.length >= 24 ? buffer.readUInt32BE(16) : 0;
      const h = buffer.length >= 24 ? buffer.readUInt32BE(20) : 0;
      if (w * h > MAX_PIXELS) throw new Error(`${w}×${h} pixels is more than ${MAX_PIXELS / 1e6} megapixels`);
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, channels: 4, data: png.data };
    }
    if (kind === 'jpeg') {
      const img = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
      return { width: img.width, height: img.height, channels: 4, data: img.data };
    }
  } catch (err) {
    throw new ImageError(`${name}: cannot decode ${kind?.toUpperCase()}: ${(err as Error).message}`);
  }
  throw new ImageError(`${name}: not a PNG or JPEG image (first bytes ${Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'none'})`);
}

/**
 * Raw pixels: `bytes` must hold one frame of the target shape (channel-major, as
 * split-head takes it) or an interleaved frame of `from` (e.g. a camera's RGB24 or GRAY8).
 */
export function rawPicture(bytes: Uint8Array, from: { width: number; height: number; channels: 1 | 3 | 4 }, name = 'raw frame'): Picture {
  const want = from.width * from.height * from.channels;
  if (bytes.length !== want) throw new ImageError(`${name}: ${bytes.length} bytes, a ${from.width}×${from.height}×${from.channels} raw frame has ${want}`);
  return { ...from, data: bytes };
}

/** Pixels of any size and colour → the target shape, channel-major uint8. */
export function toFrame(pic: Picture, shape: FrameShape, opts: ConvertOptions = {}): Buffer {
  const { width: W, height: H, channels: C } = shape;
  if (![1, 3].includes(C)) throw new ImageError(`a frame has 1 (gray) or 3 (RGB) channels, the model wants ${C}`);
  if (pic.width < 1 || pic.height < 1) throw new ImageError(`an image of ${pic.width}×${pic.height} pixels is empty`);
  const src = toChannels(pic, C);
  const box = sourceBox(pic.width, pic.height, W, H, opts.fit ?? 'crop');
  const out = Buffer.alloc(C * H * W);
  for (let y = 0; y < H; y++) {
    // Each output pixel averages the source pixels its box covers (area resampling: no
    // aliasing when a 640×480 frame becomes 28×28), or the nearest one when enlarging.
    const y0 = box.y + (y * box.h) / H;
    const y1 = box.y + ((y + 1) * box.h) / H;
    for (let x = 0; x < W; x++) {
      const x0 = box.x + (x * box.w) / W;
      const x1 = box.x + ((x + 1) * box.w) / W;
      for (let c = 0; c < C; c++) {
        let v = areaMean(src, pic.width, pic.height, C, c, x0, x1, y0, y1);
        if (opts.invert) v = 255 - v;
        out[c * H * W + y * W + x] = v;
      }
    }
  }
  return out;
}

/** Interleaved pixels with `C` channels (1 = luma, 3 = RGB), alpha composited on black. */
function toChannels(pic: Picture, C: number): Uint8Array {
  if (pic.channels === C) return pic.data;
  const n = pic.width * pic.height;
  const out = new Uint8Array(n * C);
  for (let i = 0; i < n; i++) {
    const p = i * pic.channels;
    let r: number, g: number, b: number;
    if (pic.channels === 1) r = g = b = pic.data[p];
    else {
      const a = pic.channels === 4 ? pic.data[p + 3] / 255 : 1;
      r = pic.data[p] * a; g = pic.data[p + 1] * a; b = pic.data[p + 2] * a;
    }
    if (C === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b); // ITU-R BT.601 luma
    else { out[i * 3] = Math.round(r); out[i * 3 + 1] = Math.round(g); out[i * 3 + 2] = Math.round(b); }
  }
  return out;
}

/** The part of the source that maps onto the target (may extend past it when padding). */
function sourceBox(w: number, h: number, W: number, H: number, fit: Fit): { x: number; y: number; w: number; h: number } {
  if (fit === 'stretch') return { x: 0, y: 0, w, h };
  const target = W / H;
  const wider = w / h > target;
  if (fit === 'crop') return wider ? { x: (w - h * target) / 2, y: 0, w: h * target, h } : { x: 0, y: (h - w / target) / 2, w, h: w / target };
  if (fit === 'pad') return wider ? { x: 0, y: (h - w / target) / 2, w, h: w / target } : { x: (w - h * target) / 2, y: 0, w: h * target, h };
  throw new ImageError(`fit must be crop, stretch or pad, got ${fit}`);
}

function areaMean(src: Uint8Array, w: number, h: number, C: number, c: number, x0: number, x1: number, y0: number, y1: number): number {
  let sum = 0;
  let weight = 0;
  const xa = Math.floor(x0), xb = Math.ceil(x1) - 1, ya = Math.floor(y0), yb = Math.ceil(y1) - 1;
  for (let y = ya; y <= yb; y++) {
    const wy = Math.min(y + 1, y1) - Math.max(y, y0);
    if (wy <= 0) continue;
    for (let x = xa; x <= xb; x++) {
      const wx = Math.min(x + 1, x1) - Math.max(x, x0);
      if (wx <= 0) continue;
      const inside = x >= 0 && y >= 0 && x < w && y < h; // padding outside the image is black
      sum += (inside ? src[(y * w + x) * C + c] : 0) * wx * wy;
      weight += wx * wy;
    }
  }
  return weight > 0 ? Math.round(sum / weight) : 0;
}

/** A PNG of one channel-major frame (for snapshots and tests). */
export function encodePng(frame: Uint8Array, shape: FrameShape): Buffer {
  const { width, height, channels } = shape;
  const png = new PNG({ width, height });
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    const [r, g, b] = channels === 1 ? [frame[i], frame[i], frame[i]] : [frame[i], frame[plane + i], frame[2 * plane + i]];
    png.data.set([r, g, b, 255], i * 4);
  }
  return PNG.sync.write(png);
}
