// Images of any size → a model's input, per the manifest: decode (PNG, JPEG, raw pixels),
// resize (stretch, letterbox, centre crop), colour order, scale/mean/std and layout.
// camera-source, split-head, eval and the trainer all go through here so an image is
// prepared the same way wherever it enters. Pure JavaScript (pngjs, jpeg-js): a gateway
// needs no native image library.
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import type { Manifest } from './manifest';
import { InferenceError } from './tensor';
import { preprocessPixels } from './preprocess';

/** Interleaved pixels (HWC), row-major; 3 channels are in RGB order. */
export interface Image { width: number; height: number; channels: 1 | 3; data: Uint8Array }

/** A channel-major uint8 frame's size: the bundle's `input.source`. */
export interface FrameShape { height: number; width: number; channels: number }

/** How an image of another aspect ratio meets the target ('pad' is letterbox's older name). */
export type Fit = 'stretch' | 'letterbox' | 'crop' | 'pad';

export interface ConvertOptions {
  fit?: Fit;
  /** Letterbox fill, 0..255 (default 0, black). */
  pad?: number;
  /** Negate the pixels (Fashion-MNIST objects are light on a black background, photos are not). */
  invert?: boolean;
  /** Write 3 channels as B, G, R planes. */
  bgr?: boolean;
}

/** Raw interleaved pixels as a camera gives them (RGB24, BGR24, RGBA, GRAY8). */
export interface RawFormat { width: number; height: number; channels: 1 | 3 | 4; color?: 'rgb' | 'bgr' | 'gray' }

/** A bad image is the sender's fault (BAD_INPUT): it never counts against the model. */
export class ImageError extends InferenceError {
  constructor(message: string) {
    super('BAD_INPUT', message);
    this.name = 'ImageError';
  }
}

const MAX_PIXELS = 50e6; // refuse absurd headers before allocating

export function imageKind(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/** PNG or JPEG bytes → RGB pixels (alpha composited on black). */
export function decodeImage(bytes: Uint8Array, name = 'image'): Image {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = imageKind(bytes);
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (kind === 'png') {
      // IHDR comes first: check the size it claims before pngjs allocates for it.
      const w = buffer.length >= 24 ? buffer.readUInt32BE(16) : 0;
      const h = buffer.length >= 24 ? buffer.readUInt32BE(20) : 0;
      if (w * h > MAX_PIXELS) throw new Error(`${w}×${h} pixels is more than ${MAX_PIXELS / 1e6} megapixels`);
      rgba = PNG.sync.read(buffer);
    } else if (kind === 'jpeg') {
      rgba = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    } else {
      throw new ImageError(`${name}: not a PNG or JPEG image (first bytes ${Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'none'})`);
    }
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new ImageError(`${name}: cannot decode ${kind!.toUpperCase()}: ${(err as Error).message}`);
  }
  return rawImage(rgba.data, { width: rgba.width, height: rgba.height, channels: 4 }, name);
}

/** Interleaved raw pixels → an Image (BGR swapped to RGB, alpha composited on black). */
export function rawImage(bytes: Uint8Array, from: RawFormat, name = 'raw frame'): Image {
  const { width, height, channels } = from;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width * height <= MAX_PIXELS)) {
    throw new ImageError(`${name}: width and height must be positive integers (at most ${MAX_PIXELS / 1e6} megapixels), got ${width}×${height}`);
  }
  if (![1, 3, 4].includes(channels)) throw new ImageError(`${name}: a raw frame has 1 (gray), 3 (RGB/BGR) or 4 (RGBA) channels, got ${channels}`);
  const want = width * height * channels;
  if (bytes.length !== want) throw new ImageError(`${name}: ${bytes.length} bytes, a ${width}×${height}×${channels} raw frame has ${want}`);
  if (channels === 1) return { width, height, channels: 1, data: bytes };
  const bgr = from.color === 'bgr';
  if (channels === 3 && !bgr) return { width, height, channels: 3, data: bytes };
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    const a = channels === 4 ? bytes[p + 3] / 255 : 1;
    const [r, b] = bgr ? [bytes[p + 2], bytes[p]] : [bytes[p], bytes[p + 2]];
    out[i * 3] = Math.round(r * a); out[i * 3 + 1] = Math.round(bytes[p + 1] * a); out[i * 3 + 2] = Math.round(b * a);
  }
  return { width, height, channels: 3, data: out };
}

/** Pixels of any size and colour → the target shape, channel-major uint8. */
export function toFrame(img: Image, shape: FrameShape, opts: ConvertOptions = {}): Buffer {
  const { width: W, height: H, channels: C } = shape;
  if (![1, 3].includes(C)) throw new ImageError(`a frame has 1 (gray) or 3 (colour) channels, the model wants ${C}`);
  if (img.width < 1 || img.height < 1) throw new ImageError(`an image of ${img.width}×${img.height} pixels is empty`);
  const src = toChannels(img, C);
  const pad = opts.pad ?? 0;
  const box = sourceBox(img.width, img.height, W, H, opts.fit ?? 'crop');
  const identity = box.x === 0 && box.y === 0 && box.w === W && box.h === H;
  const out = Buffer.alloc(C * H * W);
  const planes = Array.from({ length: C }, (_, c) => (opts.bgr && C === 3 ? 2 - c : c) * H * W);
  const px = new Float64Array(C);
  for (let y = 0; y < H; y++) {
    // Each output pixel averages the source pixels its box covers (area resampling: no
    // aliasing when a 640×480 frame becomes 28×28), or the nearest one when enlarging.
    const y0 = box.y + (y * box.h) / H;
    const y1 = box.y + ((y + 1) * box.h) / H;
    for (let x = 0; x < W; x++) {
      if (identity) for (let c = 0; c < C; c++) px[c] = src[(y * W + x) * C + c];
      else areaMean(src, img.width, img.height, C, box.x + (x * box.w) / W, box.x + ((x + 1) * box.w) / W, y0, y1, pad, px);
      for (let c = 0; c < C; c++) out[planes[c] + y * W + x] = opts.invert ? 255 - px[c] : px[c];
    }
  }
  return out;
}

/** Interleaved pixels with `C` channels (1 = luma, 3 = RGB). */
function toChannels(img: Image, C: number): Uint8Array {
  if (img.channels === C) return img.data;
  const n = img.width * img.height;
  const out = new Uint8Array(n * C);
  for (let i = 0; i < n; i++) {
    if (C === 3) { out.fill(img.data[i], i * 3, i * 3 + 3); continue; }
    const p = i * 3;
    out[i] = Math.round(0.299 * img.data[p] + 0.587 * img.data[p + 1] + 0.114 * img.data[p + 2]); // ITU-R BT.601 luma
  }
  return out;
}

/** The part of the source that maps onto the target (may extend past it when letterboxing). */
function sourceBox(w: number, h: number, W: number, H: number, fit: Fit): { x: number; y: number; w: number; h: number } {
  if (fit === 'stretch' || w * H === h * W) return { x: 0, y: 0, w, h };
  const target = W / H;
  const wider = w / h > target;
  if (fit === 'crop') return wider ? { x: (w - h * target) / 2, y: 0, w: h * target, h } : { x: 0, y: (h - w / target) / 2, w, h: w / target };
  if (fit === 'letterbox' || fit === 'pad') return wider ? { x: 0, y: (h - w / target) / 2, w, h: w / target } : { x: (w - h * target) / 2, y: 0, w: h * target, h };
  throw new ImageError(`fit must be stretch, letterbox or crop, got ${fit}`);
}

/** The mean of each channel over the source area [x0, x1) × [y0, y1), rounded, into `px`. */
function areaMean(src: Uint8Array, w: number, h: number, C: number, x0: number, x1: number, y0: number, y1: number, pad: number, px: Float64Array): void {
  px.fill(0);
  let weight = 0;
  const xa = Math.floor(x0), xb = Math.ceil(x1) - 1, ya = Math.floor(y0), yb = Math.ceil(y1) - 1;
  for (let y = ya; y <= yb; y++) {
    const wy = Math.min(y + 1, y1) - Math.max(y, y0);
    if (wy <= 0) continue;
    for (let x = xa; x <= xb; x++) {
      const wx = Math.min(x + 1, x1) - Math.max(x, x0);
      if (wx <= 0) continue;
      const inside = x >= 0 && y >= 0 && x < w && y < h; // outside the image is the letterbox fill
      const at = (y * w + x) * C;
      for (let c = 0; c < C; c++) px[c] += (inside ? src[at + c] : pad) * wx * wy;
      weight += wx * wy;
    }
  }
  for (let c = 0; c < C; c++) px[c] = weight > 0 ? Math.round(px[c] / weight) : 0;
}

/** What the manifest says about image input, with the defaults old bundles imply. */
export function imageSpec(m: Pick<Manifest, 'input'>): { shape: FrameShape; fit: Fit; pad: number; color: 'rgb' | 'bgr' | 'gray'; layout: 'nchw' | 'nhwc' } {
  const { source, preprocess } = m.input;
  return {
    shape: { height: source.height, width: source.width, channels: source.channels },
    fit: preprocess.resize ?? 'stretch',
    pad: preprocess.pad ?? 0,
    color: m.input.color ?? (source.channels === 1 ? 'gray' : 'rgb'),
    layout: m.input.layout ?? 'nchw',
  };
}

/**
 * The bundle's frame format (channel-major uint8 at `input.source` size, in the model's
 * colour order: what the sample set holds and camera-source sends) and how an image becomes
 * one. A node's own `fit` applies only when the manifest declares no resize.
 */
export function frameConversion(m: Pick<Manifest, 'input'>, own: { fit?: Fit; invert?: boolean } = {}): { shape: FrameShape; opts: ConvertOptions } {
  if (m.input.shape && m.input.shape.length !== 4) { // (the splitter passes a partial input before the shape is final)
    throw new ImageError(`the model's input [${m.input.shape}] is not an image (batch, channels, height, width): send a Float32Array or one ${m.input.source.channels}×${m.input.source.height}×${m.input.source.width} uint8 frame`);
  }
  const spec = imageSpec(m);
  return {
    shape: spec.shape,
    opts: { fit: m.input.preprocess.resize ?? own.fit ?? spec.fit, pad: spec.pad, bgr: spec.color === 'bgr', invert: own.invert },
  };
}

/** An image of any size → one frame in the bundle's frame format. */
export function imageToFrame(m: Pick<Manifest, 'input'>, img: Image, own: { fit?: Fit; invert?: boolean } = {}): Buffer {
  const { shape, opts } = frameConversion(m, own);
  return toFrame(img, shape, opts);
}

/** An image of any size → one sample of the model's float input (layout, scale, mean, std). */
export function imageToInput(m: Pick<Manifest, 'input'>, img: Image): Float32Array {
  return preprocessPixels(m, imageToFrame(m, img), 1);
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
