// Photograph-sized test images the tests render themselves (nothing is downloaded): a
// lit gradient background with coloured discs and boxes, a little noise, at camera sizes
// that are not the model's (640×480, 320×240, 300×400 …), as PNG and JPEG files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { prng } from '../../bench/fuzz';

const SIZES: [number, number][] = [[640, 480], [320, 240], [300, 400], [256, 256], [480, 360]];

export interface Scene { file: string; width: number; height: number; shapes: { kind: 'disc' | 'box'; color: [number, number, number] }[] }

/** RGBA pixels of one scene. */
function render(width: number, height: number, random: () => number): { data: Uint8Array; shapes: Scene['shapes'] } {
  const data = new Uint8Array(width * height * 4);
  const base = [random() * 255, random() * 255, random() * 255];
  const tilt = [random() - 0.5, random() - 0.5, random() - 0.5];
  const shapes: Scene['shapes'] = [];
  const items = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
    const color: [number, number, number] = [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)];
    const kind: 'disc' | 'box' = random() < 0.5 ? 'disc' : 'box';
    shapes.push({ kind, color });
    return { kind, color, x: random() * width, y: random() * height, r: (0.1 + random() * 0.25) * Math.min(width, height) };
  });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let px = base.map((b, c) => b + tilt[c] * (x - y) * 0.5);
      for (const it of items) {
        const inside = it.kind === 'disc' ? (x - it.x) ** 2 + (y - it.y) ** 2 < it.r ** 2 : Math.abs(x - it.x) < it.r && Math.abs(y - it.y) < it.r * 0.7;
        if (inside) px = it.color;
      }
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round(px[c] + (random() - 0.5) * 12)));
      data[o + 3] = 255;
    }
  }
  return { data, shapes };
}

/** `count` scenes into `dir` (every third one a JPEG), deterministic for a seed. */
export function renderScenes(dir: string, count: number, seed: number): Scene[] {
  fs.mkdirSync(dir, { recursive: true });
  const random = prng(seed);
  const scenes: Scene[] = [];
  for (let i = 0; i < count; i++) {
    const [width, height] = SIZES[i % SIZES.length];
    const { data, shapes } = render(width, height, random);
    const file = `scene-${String(i).padStart(3, '0')}.${i % 3 === 2 ? 'jpg' : 'png'}`;
    if (file.endsWith('.jpg')) fs.writeFileSync(path.join(dir, file), jpeg.encode({ data, width, height }, 90).data);
    else {
      const png = new PNG({ width, height });
      png.data.set(data);
      fs.writeFileSync(path.join(dir, file), PNG.sync.write(png));
    }
    scenes.push({ file, width, height, shapes });
  }
  return scenes;
}
