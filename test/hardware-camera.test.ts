// Camera sources and image conversion: images the test writes (PNG with pngjs, JPEG with
// jpeg-js, raw frames) become frames of the model's input shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { openCamera, toFrame, decodeImage, ImageError } from '../hardware';
import { tempDir } from './support/paths';

const GRAY28 = { height: 28, width: 28, channels: 1 };

/** An RGBA PNG whose pixel (x, y) is `color(x, y)`. */
function png(width: number, height: number, color: (x: number, y: number) => [number, number, number]): Buffer {
  const img = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data.set([...color(x, y), 255], (y * width + x) * 4);
  return PNG.sync.write(img);
}

test('image: a 56×56 checkerboard of 2×2 blocks averages exactly into 28×28', () => {
  const bytes = png(56, 56, (x, y) => ((x >> 1) + (y >> 1)) % 2 ? [255, 255, 255] : [0, 0, 0]);
  const frame = toFrame(decodeImage(bytes), GRAY28);
  assert.equal(frame.length, 784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) assert.equal(frame[y * 28 + x], (x + y) % 2 ? 255 : 0);
});

test('image: colour to gray uses luma, RGB comes out channel-major, crop keeps the centre', () => {
  // 60×30: red, then green over the middle half, then blue. Cropping to a square keeps the
  // middle 30×30, which is all green.
  const bytes = png(60, 30, (x) => (x < 15 ? [255, 0, 0] : x < 45 ? [0, 255, 0] : [0, 0, 255]));
  const gray = toFrame(decodeImage(bytes), { height: 2, width: 2, channels: 1 }, { fit: 'crop' });
  assert.deepEqual([...gray], [150, 150, 150, 150]); // 0.587 × 255
  const stripes = png(3, 1, (x) => [[255, 0, 0], [0, 255, 0], [0, 0, 255]][x] as [number, number, number]);
  const rgb = toFrame(decodeImage(stripes), { height: 1, width: 3, channels: 3 }, { fit: 'stretch' });
  assert.deepEqual([...rgb], [255, 0, 0, 0, 255, 0, 0, 0, 255], 'plane R, then G, then B');
  const padded = toFrame(decodeImage(png(4, 2, () => [255, 255, 255])), { height: 4, width: 4, channels: 1 }, { fit: 'pad' });
  assert.deepEqual([...padded], [0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0], 'letterboxed in black');
  const inverted = toFrame(decodeImage(png(2, 2, () => [255, 255, 255])), { height: 1, width: 1, channels: 1 }, { invert: true });
  assert.deepEqual([...inverted], [0]);
});

test('image: what is not an image is refused with a reason', () => {
  assert.throws(() => decodeImage(Buffer.from('hello world'), 'note.txt'), (e: Error) => e instanceof ImageError && /note\.txt: not a PNG or JPEG image \(first bytes 68656c6c\)/.test(e.message));
  const truncated = png(10, 10, () => [1, 2, 3]).subarray(0, 60);
  assert.throws(() => decodeImage(truncated, 'cut.png'), /cut\.png: cannot decode PNG/);
  const huge = Buffer.from(png(1, 1, () => [0, 0, 0]));
  huge.writeUInt32BE(100000, 16);
  huge.writeUInt32BE(100000, 20);
  assert.throws(() => decodeImage(huge, 'bomb.png'), /more than 50 megapixels/);
});

test('camera: a folder of PNG, JPEG and raw files gives sized frames in name order, then rescans', async () => {
  const dir = tempDir('camera');
  fs.writeFileSync(path.join(dir, 'img2.png'), png(100, 100, () => [255, 255, 255]));
  const jpg = jpeg.encode({ width: 32, height: 32, data: Buffer.alloc(32 * 32 * 4, 128) }, 95).data;
  fs.writeFileSync(path.join(dir, 'img10.jpg'), jpg);
  fs.writeFileSync(path.join(dir, 'img1.raw'), Buffer.alloc(784, 7));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  const cam = openCamera(dir, GRAY28);
  assert.equal(cam.kind, 'folder');
  const frames = [await cam.next(), await cam.next(), await cam.next()];
  assert.deepEqual(frames.map((f) => f.name), ['img1.raw', 'img2.png', 'img10.jpg']);
  for (const f of frames) assert.equal(f.data.length, 784);
  assert.ok(frames[0].data.every((v) => v === 7));
  assert.ok(frames[1].data.every((v) => v === 255));
  assert.ok(frames[2].data.every((v) => Math.abs(v - 128) <= 2), 'JPEG gray 128 survives');
  fs.writeFileSync(path.join(dir, 'img3.png'), png(28, 28, () => [0, 0, 0]));
  const names = [(await cam.next()).name, (await cam.next()).name];
  assert.deepEqual(names, ['img1.raw', 'img2.png'], 'starts over; the new file is picked up in order');
  assert.equal((await cam.next()).name, 'img3.png');
  await cam.close();
});

test('camera: a raw recording cycles through its frames; an empty folder and a missing path are reported', async () => {
  const dir = tempDir('camera-raw');
  const file = path.join(dir, 'rec.gray');
  fs.writeFileSync(file, Buffer.concat([Buffer.alloc(784, 1), Buffer.alloc(784, 2)]));
  const cam = openCamera(file, GRAY28);
  assert.deepEqual([(await cam.next()).data[0], (await cam.next()).data[0], (await cam.next()).data[0]], [1, 2, 1]);
  // An interleaved RGB24 dump of 56×56 frames, converted.
  const rgb = path.join(dir, 'cam.rgb');
  fs.writeFileSync(rgb, Buffer.alloc(56 * 56 * 3, 200));
  const big = await openCamera(rgb, GRAY28, { raw: { width: 56, height: 56, channels: 3 } }).next();
  assert.equal(big.data.length, 784);
  assert.equal(big.data[400], 200);
  fs.writeFileSync(path.join(dir, 'odd.raw'), Buffer.alloc(1000));
  assert.throws(() => openCamera(path.join(dir, 'odd.raw'), GRAY28), /1000 bytes is not a whole number of 784-byte frames/);
  const empty = tempDir('camera-empty');
  await assert.rejects(openCamera(empty, GRAY28).next(), /no images in/);
  assert.throws(() => openCamera(path.join(dir, 'nope'), GRAY28), /does not exist/);
});

test('camera: a video device without ffmpeg says what to install', async () => {
  const cam = openCamera('/dev/video0', GRAY28, { ffmpeg: '/nonexistent/ffmpeg' });
  assert.equal(cam.kind, 'video');
  await assert.rejects(cam.next(), /ffmpeg not found \(\/nonexistent\/ffmpeg\): install it \(apt-get install ffmpeg\) to read \/dev\/video0/);
  await cam.close();
});
