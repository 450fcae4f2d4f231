// lib/model/image-input and head-input: images of any size and form become the model's input
// as the manifest declares (resize, letterbox fill, colour order, layout, scale/mean/std);
// the manifest's new input fields are checked; an old bundle's input is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import {
  Manifest, ManifestError, parseManifest, imageToInput, imageToFrame, frameConversion, headInput, decodeImage, rawImage, preprocessPixels, ImageError, InferenceError,
} from '../lib/model';
import { openCamera, VideoSource } from '../hardware/camera';
import { BUNDLE, tempDir } from './support/paths';

const shipped = (): Record<string, any> => JSON.parse(fs.readFileSync(path.join(BUNDLE, 'manifest.json'), 'utf8'));

/** The shipped manifest with its input replaced: every check of parseManifest applies. */
function withInput(input: Record<string, unknown>): Manifest {
  const m = shipped();
  m.input = { name: 'x', dtype: 'float32', ...input };
  return parseManifest(JSON.stringify(m));
}

/** A 2×2 RGB model: scale 1, no mean/std, so the input holds the pixel values. */
const tiny = (extra: Record<string, unknown> = {}, pre: Record<string, unknown> = {}) => withInput({
  shape: [-1, 3, 2, 2], source: { height: 2, width: 2, channels: 3, dtype: 'uint8' },
  preprocess: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], ...pre }, ...extra,
});

/** Interleaved RGB 2×2: red, green / blue, white. */
const quad = { width: 2, height: 2, channels: 3 as const, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]) };

test('imageToInput: NCHW RGB by default, NHWC and BGR as declared, mean/std per channel in the model order', () => {
  assert.deepEqual([...imageToInput(tiny(), quad)], [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255], 'planes R, G, B');
  assert.deepEqual([...imageToInput(tiny({ color: 'bgr' }), quad)], [0, 0, 255, 255, 0, 255, 0, 255, 255, 0, 0, 255], 'planes B, G, R');
  const nhwc = tiny({ layout: 'nhwc', shape: [1, 2, 2, 3], batch: 1 });
  assert.deepEqual([...imageToInput(nhwc, quad)], [...quad.data], 'NHWC RGB is the interleaved image itself');
  const norm = tiny({ color: 'bgr', layout: 'nhwc', shape: [-1, 2, 2, 3] }, { scale: 1 / 255, mean: [0.5, 0, 0], std: [0.5, 1, 1] });
  // First pixel red in BGR order is (0, 0, 1): B = (0 - 0.5) / 0.5 = -1.
  assert.deepEqual([...imageToInput(norm, quad)].slice(0, 3), [-1, 0, 1]);
});

test('imageToInput: stretch, centre crop and letterbox with the declared fill meet the model size', () => {
  // 4×2: left half black, right half white.
  const wide = { width: 4, height: 2, channels: 3 as const, data: Uint8Array.from({ length: 24 }, (_, i) => (Math.floor(i / 3) % 4 >= 2 ? 200 : 0)) };
  const red = (m: Manifest) => [...imageToInput(m, wide)].slice(0, 4); // the R plane, 2×2
  assert.deepEqual(red(tiny()), [0, 200, 0, 200], 'stretch (the default) squeezes 4 columns into 2');
  assert.deepEqual(red(tiny({}, { resize: 'crop' })), [0, 200, 0, 200], 'crop keeps the centre 2×2');
  // Letterbox: the 4×2 image fills the middle row band of a 2×2 frame, rows above/below are fill.
  const box = red(tiny({}, { resize: 'letterbox', pad: 114 }));
  assert.deepEqual(box, [Math.round((114 + 0) / 2), Math.round((114 + 200) / 2), Math.round((114 + 0) / 2), Math.round((114 + 200) / 2)]);
  const tall = { width: 2, height: 4, channels: 3 as const, data: Uint8Array.from({ length: 24 }, (_, i) => (Math.floor(i / 6) >= 2 ? 200 : 0)) };
  assert.deepEqual([...imageToInput(tiny({}, { resize: 'crop' }), tall)].slice(0, 4), [0, 0, 200, 200], 'a tall image is cropped top and bottom');
});

test('imageToInput: a 640×480 JPEG and PNG become the model size; gray models get luma', () => {
  const W = 640, H = 480;
  const rgba = Buffer.alloc(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set([(i % W) < W / 2 ? 40 : 220, 120, 60, 255], i * 4);
  const png = new PNG({ width: W, height: H });
  rgba.copy(png.data);
  const pngBytes = PNG.sync.write(png);
  const jpgBytes = jpeg.encode({ width: W, height: H, data: rgba }, 95).data;
  const m = withInput({ shape: [-1, 3, 224, 224], source: { height: 224, width: 224, channels: 3, dtype: 'uint8' }, preprocess: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1], resize: 'crop' } });
  for (const bytes of [pngBytes, jpgBytes]) {
    const x = headInput(m, bytes);
    assert.equal(x.length, 3 * 224 * 224);
    assert.ok(Math.abs(x[224 * 100 + 10] - 40) <= 3 && Math.abs(x[224 * 100 + 200] - 220) <= 3, 'left dark, right bright in R');
    assert.ok(Math.abs(x[224 * 224 + 5000] - 120) <= 3, 'G plane');
  }
  const gray = withInput({ shape: [-1, 1, 28, 28], source: { height: 28, width: 28, channels: 1, dtype: 'uint8' }, preprocess: { scale: 1, mean: [0], std: [1] } });
  const g = headInput(gray, pngBytes);
  assert.equal(g.length, 784);
  assert.equal(g[0], Math.round(0.299 * 40 + 0.587 * 120 + 0.114 * 60));
});

const pngOf2x2 = () => { const png = new PNG({ width: 2, height: 2 }); return PNG.sync.write(png); };

test('headInput: raw RGB, BGR, RGBA and gray pixels of any size with their width and height', () => {
  const m = tiny();
  const rgb = Buffer.from(quad.data);
  const bgr = Buffer.from([0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255]);
  const want = [...imageToInput(m, quad)];
  assert.deepEqual([...headInput(m, rgb, { width: 2, height: 2 })], want, 'channels from the byte count');
  assert.deepEqual([...headInput(m, bgr, { width: 2, height: 2, color: 'bgr' })], want, 'BGR24 swapped to the model order');
  assert.deepEqual([...headInput(m, { data: rgb, width: 2, height: 2, channels: 3 })], want, 'an object payload');
  const rgba = Buffer.from([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 0]);
  assert.deepEqual([...headInput(m, rgba, { width: 2, height: 2 })].slice(0, 4), [255, 0, 0, 0], 'transparent white is black');
  const big = Buffer.alloc(8 * 6, 90); // GRAY8 8×6
  assert.deepEqual([...headInput(m, big, { width: 8, height: 6 })], new Array(12).fill(90), 'gray to 3 channels');
  assert.throws(() => headInput(m, Buffer.alloc(50), { width: 8, height: 6 }), (e: Error) => e instanceof ImageError && /50 bytes is not 8×6 pixels of 1 \(gray\), 3 \(RGB\/BGR\) or 4/.test(e.message));
  assert.throws(() => headInput(m, Buffer.alloc(48), { width: 8, height: 6, channels: 3 }), /48 bytes, a 8×6×3 raw frame has 144/);
  assert.throws(() => headInput(m, Buffer.alloc(48), { width: 8, height: 6, color: 'yuv' }), /color must be rgb, bgr, rgba or gray/);
  assert.throws(() => headInput(m, Buffer.alloc(5)), (e: Error) => e instanceof InferenceError && e.code === 'BAD_INPUT' && /expected 1 × 3×2×2 = 12 uint8 pixels, got 5 bytes.*set msg.width and msg.height/.test(e.message));
  assert.throws(() => rawImage(Buffer.alloc(4), { width: 0, height: 4, channels: 1 }), /positive integers/);
  const flat = withInput({ shape: [-1, 12], source: { height: 1, width: 12, channels: 1, dtype: 'uint8' }, preprocess: { scale: 1, mean: [0], std: [1] } });
  assert.throws(() => headInput(flat, pngOf2x2()), /the model's input \[-1,12\] is not an image .*send a Float32Array or one 1×1×12 uint8 frame/);
  assert.throws(() => headInput(m, new Float32Array(36)), /has 36 values, the head takes 12 \(\[3,2,2\]\): 3 samples, and a message carries one/);
});

test('an old bundle: a frame, its PNG and the same frame raw all give exactly the input of today', () => {
  const m = parseManifest(JSON.stringify(shipped()));
  const frame = Uint8Array.from({ length: 784 }, (_, i) => (i * 37) % 256);
  const today = preprocessPixels(m, frame, 1);
  assert.deepEqual([...headInput(m, frame)], [...today]);
  const png = new PNG({ width: 28, height: 28 });
  frame.forEach((v, i) => png.data.set([v, v, v, 255], i * 4));
  assert.deepEqual([...headInput(m, PNG.sync.write(png))], [...today], 'a 28×28 gray PNG');
  assert.deepEqual([...headInput(m, Buffer.from(frame), { width: 28, height: 28 })], [...today], 'GRAY8 with its size');
  assert.deepEqual([...imageToFrame(m, decodeImage(PNG.sync.write(png)))], [...frame]);
});

test('manifest: the new input fields are checked, each error names the field and what it takes', () => {
  const bad = (input: Record<string, unknown>, field: string, message: RegExp) =>
    assert.throws(() => tiny(input), (e: Error) => e instanceof ManifestError && e.field === field && message.test(e.message));
  const badPre = (pre: Record<string, unknown>, field: string, message: RegExp) =>
    assert.throws(() => tiny({}, pre), (e: Error) => e instanceof ManifestError && e.field === field && message.test(e.message));
  bad({ layout: 'hwc' }, 'input.layout', /must be "nchw" or "nhwc", got "hwc"/);
  bad({ color: 'gray' }, 'input.color', /"gray" does not fit 3 channel/);
  bad({ batch: 4 }, 'input.batch', /must be "dynamic" or 1/);
  bad({ batch: 1, shape: [8, 3, 2, 2] }, 'input.batch', /input.shape\[0\] is 8/);
  bad({ layout: 'nhwc' }, 'input.source', /input.shape \[-1,3,2,2\] in nhwc is 2×3×2/);
  bad({ source: { height: 2, width: 3, channels: 3, dtype: 'uint8' } }, 'input.source', /does not fill input.shape/);
  badPre({ resize: 'fit' }, 'input.preprocess.resize', /"stretch" or "letterbox" or "crop"/);
  badPre({ pad: 300 }, 'input.preprocess.pad', /integer 0..255/);
  badPre({ mean: [0] }, 'input.preprocess.mean', /must be 3 finite number/);
  badPre({ std: [1, 0, 1] }, 'input.preprocess.std', /none 0/);
  // Every new field is optional: the shipped manifest still parses unchanged.
  assert.equal(parseManifest(JSON.stringify(shipped())).input.layout, undefined);
});

test('camera: frames from a folder go through the bundle\'s conversion (BGR, letterbox fill), as split-head converts them', async () => {
  const m = tiny({ color: 'bgr' }, { resize: 'letterbox', pad: 114 });
  const dir = tempDir('camera-bgr');
  const png = new PNG({ width: 4, height: 2 });
  for (let i = 0; i < 8; i++) png.data.set([250, 10, 20, 255], i * 4);
  fs.writeFileSync(path.join(dir, 'wide.png'), PNG.sync.write(png));
  const { shape, opts } = frameConversion(m, { fit: 'stretch' });
  assert.equal(opts.fit, 'letterbox', "the manifest's resize wins over the node's fit");
  const frame = await openCamera(dir, shape, opts).next();
  assert.deepEqual([...frame.data], [...imageToFrame(m, decodeImage(PNG.sync.write(png)))]);
  // B plane first; the letterbox rows are half fill, half image.
  assert.deepEqual([...frame.data.subarray(0, 4)], new Array(4).fill(Math.round((114 + 20) / 2)));
  assert.deepEqual([...frame.data.subarray(8, 12)], new Array(4).fill(Math.round((114 + 250) / 2)), 'R plane last');
  // A video device letterboxes in ffmpeg with the same fill and delivers RGB that is swapped the same way.
  const args = new VideoSource('/dev/video0', shape, opts).ffmpegArgs().join(' ');
  assert.match(args, /pad=2:2:\(ow-iw\)\/2:\(oh-ih\)\/2:color=0x727272/);
});
