// The pieces of train-units that need no training: the image split, the progress bar's
// arithmetic, the .npy hand-over to Python, and the changed training views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitImages, listImages, ProgressBar, stageFraction, eta, writeNpy } from '../lib/units';
import { parseNpy } from '../lib/split';
import { augmentFrames, changeFrame, drawChange, random } from '../lib/units/augment';
import { tempDir } from './support/paths';

const names = Array.from({ length: 2000 }, (_, i) => `cam/${i}.png`);

test('the split is deterministic, order-free, near the fractions, and adding images moves none', () => {
  const a = splitImages(names, { val: 0.15, test: 0.15 });
  const b = splitImages([...names].reverse(), { val: 0.15, test: 0.15 });
  assert.deepEqual(new Set(a.test), new Set(b.test));
  assert.equal(a.record.counts.train + a.record.counts.val + a.record.counts.test, names.length);
  for (const part of ['val', 'test'] as const) assert.ok(Math.abs(a.record.counts[part] / names.length - 0.15) < 0.03, `${part}: ${a.record.counts[part]}`);
  const more = splitImages([...names, ...Array.from({ length: 500 }, (_, i) => `new/${i}.jpg`)], { val: 0.15, test: 0.15 });
  assert.ok(a.test.every((f) => more.test.includes(f)) && a.val.every((f) => more.val.includes(f)));
  assert.notDeepEqual(splitImages(names, { val: 0.15, test: 0.15 }, 1).test, a.test, 'the seed changes the split');
  assert.equal(new Set([...a.train, ...a.val, ...a.test]).size, names.length, 'no image in two sets');
});

test('listImages finds PNG/JPEG in subfolders, sorted, and nothing else', () => {
  const dir = tempDir('list-images');
  fs.mkdirSync(path.join(dir, 'b'));
  for (const f of ['z.PNG', 'a.jpg', 'b/c.jpeg', 'notes.txt', 'b/d.bmp']) fs.writeFileSync(path.join(dir, f), '');
  return listImages(dir).then((list) => assert.deepEqual(list, ['a.jpg', 'b/c.jpeg', 'z.PNG']));
});

test('progress: stage fraction over items, ETA from the time spent, one line per 10% off a terminal', () => {
  assert.equal(stageFraction({ event: 'progress', item: 1, items: 4, done: 50, total: 100 }), 0.375);
  assert.equal(eta(0.25, 60), 180);
  assert.equal(eta(0, 60), null);
  let t = 0;
  const lines: string[] = [];
  const bar = new ProgressBar({ isTTY: false, write: (s) => lines.push(s) }, 10, () => t);
  bar.begin('search', '2 units');
  for (let k = 1; k <= 20; k++) { t = k * 1000; bar.handle({ event: 'progress', stage: 'search', item: 0, items: 1, done: k, total: 20, label: 'c8-s4' }); }
  assert.equal(lines.length, 11, lines.join(''));
  assert.match(lines[5], /search\s+█████░░░░░\s+50%\s+10s ETA 10s\s+c8-s4/);
});

test('writeNpy writes what numpy (and parseNpy) read back', async () => {
  const file = path.join(tempDir('npy'), 'x.npy');
  const data = Float32Array.from({ length: 24 }, (_, i) => i - 3.5);
  await writeNpy(file, data, [2, 3, 4]);
  const bytes = fs.readFileSync(file);
  assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0, 'header padded to 64 bytes');
  const a = parseNpy(new Uint8Array(bytes), file);
  assert.deepEqual(a.shape, [2, 3, 4]);
  assert.deepEqual(new Float32Array(new Uint8Array(a.data).buffer), data);
});

test('training views: a shift moves pixels and repeats the edge, a mirror reverses rows, gain and offset clamp to 0..255, a seed repeats its views', () => {
  const shape = { channels: 2, height: 3, width: 4 };
  const src = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
  const same = { dx: 0, dy: 0, mirror: false, gain: 1, offset: 0 };
  assert.deepEqual(changeFrame(src, shape, same), src);
  const right = changeFrame(src, shape, { ...same, dx: 1 });
  assert.deepEqual([...right.subarray(0, 4)], [0, 0, 10, 20], 'row 0 shifted right by one, its first pixel repeated');
  const down = changeFrame(src, shape, { ...same, dy: 1 });
  assert.deepEqual([...down.subarray(12, 20)], [120, 130, 140, 150, 120, 130, 140, 150], 'channel 1: row 0 repeated, then row 0 again in place of row 1');
  const mirrored = changeFrame(src, shape, { ...same, mirror: true });
  assert.deepEqual([...mirrored.subarray(4, 8)], [70, 60, 50, 40]);
  const bright = changeFrame(src, shape, { ...same, gain: 1.15, offset: 10 });
  assert.equal(bright[0], 10);
  assert.equal(bright[23], 255, '230 * 1.15 + 10 clamps');
  const frames = Uint8Array.from({ length: 5 * 24 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(augmentFrames(frames, 5, shape, 3, 1), augmentFrames(frames, 5, shape, 3, 1));
  assert.notDeepEqual(augmentFrames(frames, 5, shape, 3, 1), augmentFrames(frames, 5, shape, 3, 2), 'another view is another draw');
  const rnd = random(1);
  for (let i = 0; i < 200; i++) {
    const c = drawChange({ channels: 3, height: 96, width: 96 }, rnd);
    assert.ok(Math.abs(c.dx) <= 12 && Math.abs(c.dy) <= 12 && c.gain >= 0.85 && c.gain <= 1.15 && Math.abs(c.offset) <= 10, JSON.stringify(c));
  }
});
