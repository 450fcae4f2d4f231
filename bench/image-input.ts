// `npm run bench -- image-input [--json] [--repeat N]`: how long the gateway takes to turn a
// camera image into the head's input (lib/model/image-input), by source size and form:
// JPEG and PNG decoding, then resize/crop/letterbox to 224×224 RGB (and 28×28 gray), scale
// and layout. Images are rendered here (gradients and noise), so the bench needs no files.
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { Image, Manifest, decodeImage, imageToInput } from '../lib/model';
import { prng } from './fuzz';
import { flag } from './flags';

function render(width: number, height: number): Image {
  const random = prng(width * 7 + height);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const x = i % width, y = Math.floor(i / width);
    data.set([(x * 255) / width, (y * 255) / height, random() * 255], i * 3);
  }
  return { width, height, channels: 3, data };
}

const model = (channels: 1 | 3, size: number, resize: 'stretch' | 'letterbox' | 'crop', layout: 'nchw' | 'nhwc'): Manifest => ({
  input: {
    name: 'x', dtype: 'float32', layout, shape: layout === 'nhwc' ? [-1, size, size, channels] : [-1, channels, size, size],
    source: { height: size, width: size, channels, dtype: 'uint8' },
    preprocess: { scale: 1 / 255, mean: new Array(channels).fill(0.5), std: new Array(channels).fill(0.25), resize, pad: 114 },
  },
} as unknown as Manifest);

function msPer(repeat: number, fn: () => void): number {
  fn(); // warm up
  const t = performance.now();
  for (let i = 0; i < repeat; i++) fn();
  return Math.round(((performance.now() - t) / repeat) * 100) / 100;
}

export async function run(args: string[]): Promise<unknown> {
  const repeat = Number(flag(args, 'repeat') ?? 5);
  const rows = [];
  for (const [w, h] of [[320, 240], [640, 480], [1280, 720], [1920, 1080]]) {
    const img = render(w, h);
    const rgba = Buffer.alloc(w * h * 4, 255);
    for (let i = 0; i < w * h; i++) rgba.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
    const png = new PNG({ width: w, height: h });
    rgba.copy(png.data);
    const pngBytes = PNG.sync.write(png);
    const jpegBytes = jpeg.encode({ width: w, height: h, data: rgba }, 90).data;
    rows.push({
      source: `${w}x${h}`,
      decodeJpegMs: msPer(repeat, () => decodeImage(jpegBytes)),
      decodePngMs: msPer(repeat, () => decodeImage(pngBytes)),
      rgb224CropNchwMs: msPer(repeat, () => imageToInput(model(3, 224, 'crop', 'nchw'), img)),
      rgb224LetterboxNhwcMs: msPer(repeat, () => imageToInput(model(3, 224, 'letterbox', 'nhwc'), img)),
      gray28StretchMs: msPer(repeat, () => imageToInput(model(1, 28, 'stretch', 'nchw'), img)),
    });
  }
  return { bench: 'image-input', repeat, node: process.version, rows };
}
