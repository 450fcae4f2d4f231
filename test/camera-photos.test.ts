// The all-in-one flow with camera-source in place of the sample camera, on the embedded
// aedes broker, fed crops of a real photograph (240–1200 px, PNG and JPEG, several aspect
// ratios) through a bundle that `split-dnn split` made from a 3×224×224 RGB classifier.
// The answers arriving at the gateway must be the original (unsplit) model's on the same
// images, prepared as the manifest says; bad frames are reported and the flow keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { helper, stopRed, startRed, Collector, modelReady, ALL_NODES, CORE_NODES } from './support/red';
import { HARDWARE_NODES, StatusLog } from './support/hardware-red';
import { readFlow, patch, asHelper, tap, withoutDashboard, FlowNode } from './support/flows';
import { tempDir } from './support/paths';
import { saveOnnx } from './support/onnx-build';
import { photoClassifier, photoCrops, cropBoxes } from './support/photos';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { Image, Manifest, imageToInput, loadBundle, toFrame } from '../lib/model';

const CLI = path.resolve(__dirname, '..', 'bin', 'split-dnn.js');
const work = tempDir('camera-photos');
const modelFile = path.join(work, 'photo-cnn.onnx');
const bundleDir = path.join(work, 'bundle');
const cameraDir = path.join(work, 'camera');
const GOOD = 8;
let broker: EmbeddedBroker;
let manifest: Manifest;
let original: ort.InferenceSession;
let held: Image[]; // crops the camera shows; none of them calibrated the bundle

const interleavedPng = (img: Image): Buffer => {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) png.data.set([img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2], 255], i * 4);
  return PNG.sync.write(png);
};
const interleavedJpeg = (img: Image): Buffer => {
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let i = 0; i < img.width * img.height; i++) rgba.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
  return jpeg.encode({ width: img.width, height: img.height, data: rgba }, 92).data;
};

before(async () => {
  saveOnnx(modelFile, photoClassifier());
  const crops = photoCrops([...cropBoxes(40, 3), ...cropBoxes(GOOD, 7)]);
  const calibration = crops.slice(0, 40).map((c) => toFrame(c, { width: 224, height: 224, channels: 3 }, { fit: 'crop' }));
  held = crops.slice(40);
  fs.writeFileSync(path.join(work, 'calib.u8'), Buffer.concat(calibration));
  const split = spawnSync(process.execPath, [CLI, 'split', '--model', modelFile, '--at', 'stage3', '--calibrate', path.join(work, 'calib.u8'),
    '--scale', '1/255', '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '--bits', '10', '--out', bundleDir, '--name', 'photo-cnn'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(split.status, 0, split.stderr);
  manifest = (await loadBundle(bundleDir)).manifest;
  // Held-out frames in the camera folder, alternately JPEG and PNG, with a broken JPEG among them.
  fs.mkdirSync(cameraDir);
  held.forEach((img, i) => {
    const name = `frame-${String(i < 4 ? i + 1 : i + 2).padStart(2, '0')}`;
    fs.writeFileSync(path.join(cameraDir, i % 2 ? `${name}.png` : `${name}.jpg`), i % 2 ? interleavedPng(img) : interleavedJpeg(img));
  });
  fs.writeFileSync(path.join(cameraDir, 'frame-05.jpg'), interleavedJpeg(held[0]).subarray(0, 700));
  original = await ort.InferenceSession.create(modelFile);
  broker = await startEmbeddedBroker(0);
  Object.assign(process.env, {
    SPLIT_DNN_BUNDLE: bundleDir, SPLIT_DNN_BROKER: broker.url, SPLIT_DNN_MQTT_VERSION: '4',
    SPLIT_DNN_GATEWAY: 'gw-photos', SPLIT_DNN_FPS: '0', SPLIT_DNN_CA_FILE: '',
  });
  await startRed();
});
after(async () => { await stopRed(); await broker.close(); await original.release(); });

/** The unsplit model's class for an image prepared as the camera prepares it (crop to fill). */
async function originalAnswer(img: Image): Promise<number> {
  const x = imageToInput({ ...manifest, input: { ...manifest.input, preprocess: { ...manifest.input.preprocess, resize: 'crop' } } }, img);
  const out = await original.run({ [manifest.input.name]: new ort.Tensor('float32', x, [1, 3, 224, 224]) });
  const logits = out[original.outputNames[0]].data as Float32Array;
  return logits.indexOf(Math.max(...logits));
}

test('camera-source → all-in-one flow: real-size photo crops answered at the gateway as the original model answers; bad frames reported, serving goes on', async () => {
  let flow: FlowNode[] = withoutDashboard(readFlow('all-in-one.json'));
  flow = flow.map((n) => (n.id === 'edge-camera'
    ? { id: 'edge-camera', type: 'camera-source', z: n.z, model: 'cfg-model', source: cameraDir, fps: '0', fit: 'crop', invert: false, autostart: false, wires: [['edge-head']] }
    : n));
  flow = patch(flow, 'edge-encode', { rate: '0' });
  flow = patch(flow, 'cfg-link', { outboxDir: tempDir('outbox') });
  flow = asHelper(flow, 'edge-results');
  flow.push({ id: 'frames', type: 'helper', z: 'tab-demo', wires: [] }, { id: 'caught', type: 'helper', z: 'tab-demo', wires: [] });
  flow = tap(tap(flow, 'edge-camera', 'frames'), 'stats-catch', 'caught');
  await helper.load([...ALL_NODES, ...CORE_NODES, ...HARDWARE_NODES], flow, {});
  await modelReady('cfg-model');
  const cameraStatus = new StatusLog('edge-camera');
  const results = new Collector('edge-results');
  const frames = new Collector('frames');
  const caught = new Collector('caught');

  // One trigger per file, each after the last came out (a trigger while busy is dropped).
  for (let i = 0; i < GOOD + 1; i++) {
    helper.getNode('edge-camera').receive({ sampleIndex: i });
    await (i === 4 ? caught.wait(1) : frames.wait(i < 4 ? i + 1 : i));
  }
  assert.match(String((caught.messages[0].error as { message: string }).message), /frame-05\.jpg: cannot decode JPEG/);
  await cameraStatus.wait((s) => s.fill === 'red' && /frame-05\.jpg/.test(String(s.text)));
  assert.ok(frames.messages.every((m) => (m.payload as Buffer).length === 3 * 224 * 224), 'frames in the bundle format');

  const answers = await results.wait(GOOD, 60_000);
  const byTrigger = new Map(answers.map((m) => [m.sampleIndex as number, m.payload as { index: number; source: string }]));
  assert.equal(byTrigger.size, GOOD, 'every good frame answered once');
  let agree = 0;
  for (const [trigger, answer] of byTrigger) {
    assert.equal(answer.source, 'cloud');
    const img = held[trigger < 4 ? trigger : trigger - 1];
    if (answer.index === await originalAnswer(img)) agree++;
  }
  // 10-bit features: a near-tie may flip once in eight, no more.
  assert.ok(agree >= GOOD - 1, `${agree} of ${GOOD} answers agree with the original model`);
  assert.ok(new Set([...byTrigger.values()].map((a) => a.index)).size >= 2, 'the photos get different answers (the check can fail)');

  // Straight into split-head: a frame of the wrong size, then raw RGB24 and BGR24 of another
  // size with their width and height, which must give the answer of the same picture as PNG.
  const head = helper.getNode('edge-head');
  head.receive({ payload: Buffer.alloc(1000), sampleIndex: 'short' });
  const [, bad] = await caught.wait(2);
  assert.match(String((bad.error as { message: string }).message), /expected 1 × 3×224×224 = 150528 uint8 pixels, got 1000 bytes.*msg\.width and msg\.height/);
  const pic = held[1];
  const bgr = Buffer.from(pic.data);
  for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [bgr[i + 2], bgr[i]];
  head.receive({ payload: Buffer.from(pic.data), width: pic.width, height: pic.height, sampleIndex: 'rgb' });
  head.receive({ payload: bgr, width: pic.width, height: pic.height, color: 'bgr', sampleIndex: 'bgr' });
  head.receive({ payload: interleavedPng(pic), sampleIndex: 'png' });
  const all = await results.wait(GOOD + 3, 30_000);
  const late = new Map(all.slice(GOOD).map((m) => [m.sampleIndex, (m.payload as { index: number; confidence: number })]));
  assert.deepEqual(late.get('rgb'), late.get('bgr'), 'BGR24 is swapped into the model order');
  assert.deepEqual(late.get('rgb'), late.get('png'), 'raw pixels and their PNG are the same picture');
});
