// Real-size camera input for tests: crops of a photograph from Debian's lomiri-wallpapers-20.04
// (a nuthatch on a tree, 6028×3391 JPEG), and an RGB classifier at 3×224×224 built with
// seeded random weights, the size and shape of a small MobileNet-style export.
import * as fs from 'node:fs';
import { decodeImage, Image } from '../../lib/model/image-input';
import type { ModelProto } from '../../lib/split/onnx-proto';
import { GraphBuilder, rng } from './onnx-build';

export const PHOTO = '/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg';

/** The photograph, decoded once per process (2 s and ~500 MB in jpeg-js: keep only crops). */
export function photoCrops(boxes: Array<{ x: number; y: number; w: number; h: number }>): Image[] {
  if (!fs.existsSync(PHOTO)) throw new Error(`${PHOTO} is missing: apt-get install lomiri-wallpapers-20.04 (in .ci/run's list)`);
  const photo = decodeImage(fs.readFileSync(PHOTO), PHOTO);
  return boxes.map(({ x, y, w, h }) => {
    const data = new Uint8Array(w * h * 3);
    for (let row = 0; row < h; row++) data.set(photo.data.subarray(((y + row) * photo.width + x) * 3, ((y + row) * photo.width + x + w) * 3), row * w * 3);
    return { width: w, height: h, channels: 3, data };
  });
}

/** Crop boxes spread over the photo, `count` of them, widths 240..`maxWidth` px and mixed aspect ratios. */
export function cropBoxes(count: number, seed: number, maxWidth = 1200): Array<{ x: number; y: number; w: number; h: number }> {
  const random = rng(seed);
  return Array.from({ length: count }, () => {
    const w = 240 + Math.floor(random() * (maxWidth - 240));
    const h = Math.max(224, Math.floor(w * (0.5 + random())));
    return { x: Math.floor(random() * (6028 - w)), y: Math.floor(random() * (3391 - Math.min(h, 3391))), w, h: Math.min(h, 3391) };
  });
}

/**
 * input [N,3,224,224] → 5 × (conv 3×3, relu, maxpool 2) to 32×7×7 → flatten → Gemm → logits
 * [N,classes]. No global pooling, so different photos get different answers.
 */
export function photoClassifier(classes = 6, seed = 3): ModelProto {
  const b = new GraphBuilder(rng(seed));
  const widths = [3, 8, 16, 16, 32, 32];
  let x = 'image';
  for (let i = 1; i < widths.length; i++) {
    const relu = b.op('Relu', [b.conv(x, `stage${i}.conv`, widths[i - 1], widths[i])], `stage${i}.relu`);
    x = b.op('MaxPool', [relu], `stage${i}`, { kernel_shape: [2, 2], strides: [2, 2] });
  }
  b.gemm(b.op('Flatten', [x], 'flat'), 'logits', 32 * 7 * 7, classes);
  return b.model('image', [3, 224, 224], 'logits', classes);
}
