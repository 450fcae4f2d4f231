// uint8 RGB frames (channel-major, as split-head takes them) → the head's float input, with
// the layout and colour fields of the manifest (CONTRACT; absent = NCHW, RGB/gray).
import type { Manifest } from '../model/manifest';
import { preprocessPixels, pixelsPerFrame } from '../model/preprocess';

export function modelInput(m: Manifest, frames: Uint8Array, n: number): Float32Array {
  const input = m.input as Manifest['input'] & { layout?: string; color?: string };
  const layout = input.layout ?? 'nchw';
  const bgr = input.color === 'bgr';
  if (layout === 'nchw' && !bgr) return preprocessPixels(m, frames, n);
  if (layout !== 'nchw' && layout !== 'nhwc') throw new Error(`manifest input.layout "${layout}" is not nchw or nhwc`);
  const { channels: C, height: H, width: W } = m.input.source;
  const { scale, mean, std } = m.input.preprocess;
  const per = pixelsPerFrame(m);
  const out = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const mc = bgr ? C - 1 - c : c; // the model's channel index
      for (let p = 0; p < H * W; p++) {
        const v = (frames[i * per + c * H * W + p] * scale - mean[mc]) / std[mc];
        out[i * per + (layout === 'nhwc' ? p * C + mc : mc * H * W + p)] = v;
      }
    }
  }
  return out;
}
