// Images → the model input as the manifest declares it (CONTRACT.md, "Image input").
// Interim version on branch issue-15 so `split --calibrate DIR` and `eval --images` have the
// contract's functions; issue-15b owns this file and its full version replaces this one.
import * as hw from '../../hardware/image';
import type { Manifest } from './manifest';
import { preprocessPixels } from './preprocess';

export interface Image { width: number; height: number; channels: 1 | 3; data: Uint8Array }

export function decodeImage(bytes: Uint8Array): Image {
  const pic = hw.decodeImage(bytes);
  const n = pic.width * pic.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = pic.data[i * pic.channels + c];
  return { width: pic.width, height: pic.height, channels: 3, data: rgb };
}

/** The uint8 C×H×W frame of the manifest's source size and colour order. */
export function imageToFrame(m: Pick<Manifest, 'input'>, img: Image): Uint8Array {
  const s = m.input.source;
  const fit = { stretch: 'stretch', letterbox: 'pad', crop: 'crop' }[m.input.preprocess.resize ?? 'stretch'] as hw.Fit;
  const frame = new Uint8Array(hw.toFrame(img, { height: s.height, width: s.width, channels: s.channels }, { fit }));
  if (m.input.color === 'bgr') {
    const plane = s.height * s.width;
    const r = frame.slice(0, plane);
    frame.copyWithin(0, 2 * plane, 3 * plane);
    frame.set(r, 2 * plane);
  }
  return frame;
}

export function imageToInput(m: Manifest, img: Image): Float32Array {
  return preprocessPixels(m, imageToFrame(m, img), 1);
}
