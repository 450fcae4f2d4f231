// The all-in-one flow with camera-source in place of the sample camera, on the embedded
// aedes broker, fed crops of a real photograph (240–1200 px, PNG and JPEG, several aspect
// ratios; none of them calibrated the bundle) through bundles that `split-dnn split` made
// from real-size models: a 3×224×224 RGB classifier, a tf2onnx-style NHWC classifier whose
// batch is fixed at 1, and an SSD-style detector. The answers arriving at the gateway must
// be the original (unsplit) model's on the same images prepared as the manifest says;
// bad frames are reported and the flow keeps serving.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { helper, stopRed, startRed, loadFlow, Collector, modelReady, modelNode, tab } from './support/red';
import { StatusLog } from './support/hardware-red';
import { tempDir } from './support/paths';
import { saveOnnx, repoRoot } from './support/onnx-build';
import { photoClassifier, photoCrops, cropBoxes } from './support/photos';
import { loadCameraFlow, triggerEach, writeCameraFiles, pngOf, jpegOf } from './support/camera-flow';
import { splitDnn } from './support/cli';
import { parsePrometheus, sampleValue } from './support/prometheus';
import { startEmbeddedBroker, EmbeddedBroker } from '../lib/broker/embedded';
import { Image, Manifest, ModelRuntime, decodeImage, imageToInput, loadBundle } from '../lib/model';
import { sampleCheck } from '../lib/ota/sample-check';
import { taskFor, TaskResult, DetectionResult, TensorsResult } from '../lib/task';
import { matchCount } from '../lib/task/boxes';
import { fleetOfProcess, outcomeOf } from '../lib/metrics';
import type { CandidateTensor } from '../lib/split';

const work = tempDir('camera-photos');
const IMAGENET = ['--mean', '0.485,0.456,0.406', '--std', '0.229,0.224,0.225'];
const HELD = 8;
const CALIBRATION = 16;
let broker: EmbeddedBroker;
let calibration: Image[];
let held: Image[];

before(async () => {
  // Calibration crops small (encoding them as files is most of this test's time), camera crops up to 900 px.
  const crops = photoCrops([...cropBoxes(CALIBRATION, 3, 400), ...cropBoxes(HELD, 7, 900)]);
  calibration = crops.slice(0, CALIBRATION);
  held = crops.slice(CALIBRATION);
  broker = await startEmbeddedBroker(0);
  Object.assign(process.env, { SPLIT_DNN_BROKER: broker.url, SPLIT_DNN_MQTT_VERSION: '4', SPLIT_DNN_FPS: '0', SPLIT_DNN_CA_FILE: '' });
  await startRed();
});
afterEach(() => helper.unload());
after(async () => { await stopRed(); await broker.close(); });

/** `split-dnn split` of `model` at `at`, calibrated on the calibration crops (PNG files). */
async function splitBundle(name: string, model: string, at: string, ...extra: string[]): Promise<{ dir: string; manifest: Manifest }> {
  const cal = path.join(work, 'calibration');
  if (!fs.existsSync(cal)) writeCameraFiles(cal, calibration, 'cal');
  const dir = path.join(work, name);
  const r = splitDnn('split', '--model', model, '--at', at, '--calibrate', cal, '--out', dir, ...extra);
  assert.equal(r.code, 0, r.err);
  return { dir, manifest: (await loadBundle(dir)).manifest };
}

/** The cuts `split --list` offers at a feature map (C×H×W, H > 1), in graph order. */
function spatialCuts(model: string, ...extra: string[]): CandidateTensor[] {
  const list = JSON.parse(splitDnn('split', '--model', model, '--list', '--json', ...extra).out) as CandidateTensor[];
  return list.filter((c) => !c.crossing && !c.unused && !c.refused && c.type === 'float32' && c.dims.length === 4 && c.dims[2] > 1);
}

/** The unsplit model's answer for an image prepared as the manifest says, read by the bundle's task. */
async function originalAnswer(model: ort.InferenceSession, m: Manifest, img: Image): Promise<TaskResult> {
  const x = imageToInput(m, img);
  const out = await model.run({ [model.inputNames[0]]: new ort.Tensor('float32', x, [1, ...m.input.shape.slice(1)]) });
  const one = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims].slice(1) }]));
  return taskFor(m).interpret(one);
}

const metric = async (name: string, labels: Record<string, string>) => sampleValue(parsePrometheus(await fleetOfProcess().registry.metrics()), name, labels) ?? 0;

test('camera → all-in-one flow, 224×224 RGB classifier: photo crops answered at the gateway as the original model answers; a broken JPEG and a short frame are reported, serving goes on', async () => {
  const modelFile = saveOnnx(path.join(work, 'photo-cnn.onnx'), photoClassifier());
  const { dir, manifest } = await splitBundle('photo-cnn', modelFile, 'stage3', '--scale', '1/255', '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '--bits', '10');
  const cameraDir = path.join(work, 'camera-cnn');
  writeCameraFiles(cameraDir, held);
  fs.writeFileSync(path.join(cameraDir, 'frame-04b.jpg'), jpegOf(held[0]).subarray(0, 700)); // sorts after frame-04
  Object.assign(process.env, { SPLIT_DNN_BUNDLE: dir, SPLIT_DNN_GATEWAY: 'gw-cnn' });
  const flow = await loadCameraFlow(cameraDir);
  const cameraStatus = new StatusLog('edge-camera');
  await triggerEach(flow, HELD + 1);
  const imageOf = (trigger: number) => held[trigger < 4 ? trigger : trigger - 1];

  assert.match(String((flow.caught.messages[0].error as { message: string }).message), /frame-04b\.jpg: cannot decode JPEG/);
  await cameraStatus.wait((s) => s.fill === 'red' && /frame-04b\.jpg/.test(String(s.text)));
  assert.ok(flow.frames.messages.every((m) => (m.payload as Buffer).length === 3 * 224 * 224), 'frames in the bundle format');
  const answers = await flow.results.wait(HELD, 60_000);
  const byTrigger = new Map(answers.map((m) => [m.sampleIndex as number, m.payload as { index: number; source: string }]));
  assert.equal(byTrigger.size, HELD, 'every good frame answered once');
  // The camera crops to fill (its Fit; the bundle declares no resize).
  const original = await ort.InferenceSession.create(modelFile);
  const asCamera = { ...manifest, input: { ...manifest.input, preprocess: { ...manifest.input.preprocess, resize: 'crop' as const } } };
  let agree = 0;
  for (const [trigger, answer] of byTrigger) {
    assert.equal(answer.source, 'cloud');
    if (answer.index === (await originalAnswer(original, asCamera, imageOf(trigger)) as { index: number }).index) agree++;
  }
  assert.ok(agree >= HELD - 1, `${agree} of ${HELD} answers agree with the original model (10-bit features: one near-tie may flip)`);
  assert.ok(new Set([...byTrigger.values()].map((a) => a.index)).size >= 2, 'the photos get different answers (the check can fail)');

  // Straight into split-head: a frame of the wrong size, then raw RGB24 and BGR24 of another
  // size with their width and height, which must give the answer of the same picture as PNG.
  const head = helper.getNode('edge-head');
  head.receive({ payload: Buffer.alloc(1000), sampleIndex: 'short' });
  const [, bad] = await flow.caught.wait(2);
  assert.match(String((bad.error as { message: string }).message), /expected 1 × 3×224×224 = 150528 uint8 pixels, got 1000 bytes.*msg\.width and msg\.height/);
  const pic = held[1];
  const bgr = Buffer.from(pic.data);
  for (let i = 0; i < bgr.length; i += 3) [bgr[i], bgr[i + 2]] = [bgr[i + 2], bgr[i]];
  head.receive({ payload: Buffer.from(pic.data), width: pic.width, height: pic.height, sampleIndex: 'rgb' });
  head.receive({ payload: bgr, width: pic.width, height: pic.height, color: 'bgr', sampleIndex: 'bgr' });
  head.receive({ payload: pngOf(pic), sampleIndex: 'png' });
  const all = await flow.results.wait(HELD + 3, 30_000);
  const late = new Map(all.slice(HELD).map((m) => [m.sampleIndex, m.payload]));
  assert.deepEqual(late.get('rgb'), late.get('bgr'), 'BGR24 is swapped into the model order');
  assert.deepEqual(late.get('rgb'), late.get('png'), 'raw pixels and their PNG are the same picture');
  await original.release();
});

test('camera → flow, tf2onnx-style NHWC classifier with batch fixed at 1: frames run one per ORT call, also when several wait, with the original answers', async () => {
  const modelFile = path.join(repoRoot(), 'test', 'models', 'classifier-nhwc.onnx');
  const at = spatialCuts(modelFile).at(-1)!.name;
  const { dir, manifest } = await splitBundle('nhwc', modelFile, at, '--resize', 'crop', ...IMAGENET);
  assert.deepEqual([manifest.input.layout, manifest.input.batch], ['nhwc', 1]);
  const cameraDir = path.join(work, 'camera-nhwc');
  const files = writeCameraFiles(cameraDir, held.slice(0, 4));
  Object.assign(process.env, { SPLIT_DNN_BUNDLE: dir, SPLIT_DNN_GATEWAY: 'gw-nhwc' });
  const flow = await loadCameraFlow(cameraDir);
  await triggerEach(flow, files.length);
  // Four PNGs straight into the head at once: queued together, never joined into a batch.
  for (let i = 0; i < 4; i++) helper.getNode('edge-head').receive({ payload: pngOf(held[4 + i]), sampleIndex: 4 + i });
  const answers = await flow.results.wait(8, 60_000);
  assert.equal(flow.caught.messages.length, 0, JSON.stringify(flow.caught.messages.map((m) => (m.error as Error).message)));
  const original = await ort.InferenceSession.create(modelFile);
  let agree = 0;
  for (const m of answers) {
    const i = m.sampleIndex as number;
    // Camera frames went through a file (JPEG for even ones); the original sees the same file's pixels.
    const img = i < 4 ? decodeImage(fs.readFileSync(path.join(cameraDir, files[i]))) : held[i];
    if ((m.payload as { index: number }).index === (await originalAnswer(original, manifest, img) as { index: number }).index) agree++;
  }
  assert.ok(agree >= 7, `${agree} of 8 answers agree with the original model`);
  assert.equal(await metric('split_dnn_task_results_total', { gateway: 'gw-nhwc', source: 'cloud', task: 'classification' }), 8);
  await original.release();
});

test('camera → flow, SSD-style detector (letterbox, fill 114): boxes arrive at the gateway as the original model finds them, objects counted in /metrics', async () => {
  const modelFile = path.join(repoRoot(), 'test', 'models', 'detector.onnx');
  const at = spatialCuts(modelFile).reduce((a, c) => (c.float32Bytes! <= a.float32Bytes! ? c : a)).name;
  const { dir, manifest } = await splitBundle('detector', modelFile, at, '--resize', 'letterbox', '--pad', '114', '--background', '0', ...IMAGENET);
  assert.equal(manifest.task?.kind, 'detection');
  const cameraDir = path.join(work, 'camera-detector');
  const files = writeCameraFiles(cameraDir, held.slice(0, 6));
  Object.assign(process.env, { SPLIT_DNN_BUNDLE: dir, SPLIT_DNN_GATEWAY: 'gw-det' });
  const flow = await loadCameraFlow(cameraDir);
  await triggerEach(flow, files.length);
  const answers = await flow.results.wait(files.length, 60_000);
  const original = await ort.InferenceSession.create(modelFile);
  let matched = 0;
  let boxes = 0;
  let objects = 0;
  for (const m of answers) {
    const answer = m.payload as DetectionResult & { source: string };
    assert.equal(answer.kind, 'detection');
    objects += answer.detections.length;
    const want = await originalAnswer(original, manifest, decodeImage(fs.readFileSync(path.join(cameraDir, files[m.sampleIndex as number])))) as DetectionResult;
    matched += matchCount(want.detections, answer.detections);
    boxes += want.detections.length + answer.detections.length;
  }
  assert.ok(objects >= files.length, `${objects} boxes in ${files.length} frames`);
  // The task's own measure (boxes@0.5, as split and eval report it), at the split-time bar for 8 bits.
  assert.ok((2 * matched) / boxes >= 0.85, `${matched} boxes matched at IoU 0.5 of ${boxes / 2} on average`);
  assert.equal(await metric('split_dnn_detected_objects_total', { gateway: 'gw-det', source: 'cloud' }), objects);
  await original.release();

  // An update to this bundle passes the gateway's sample check, by box agreement (its sample labels are placeholders).
  const rt = await ModelRuntime.open(dir, { workers: 1 });
  const check = await sampleCheck(rt).finally(() => rt.close());
  assert.ok(check.passed, String(check.reason));
  assert.equal(check.rates[0].measure, 'boxes@0.5');

  // The bundle's sample set has placeholder labels (one byte cannot hold boxes): the demo camera sends none.
  await helper.unload();
  await loadFlow([tab, modelNode(dir), { id: 'cam', type: 'sample-source', z: 'f1', model: 'model', fps: '10', limit: '0', autostart: false, wires: [['out']] }, { id: 'out', type: 'helper', z: 'f1' }]);
  await modelReady();
  const out = new Collector('out');
  helper.getNode('cam').receive({ payload: 2 });
  assert.ok((await out.wait(2)).every((m) => !('label' in m) && (m.payload as Buffer).length === 3 * 224 * 224));
});

test('camera → flow, a multi-label sigmoid model and an FPN with a dense output: label sets and raw tensors arrive at the gateway as the original gives them, counted by task', async () => {
  const cases = [
    { name: 'multilabel', kind: 'multilabel', shape: ['--input-shape', '1,3,224,224'] },
    { name: 'fpn', kind: 'tensors', shape: [] as string[] },
  ];
  for (const c of cases) {
    const modelFile = path.join(repoRoot(), 'test', 'models', `${c.name}.onnx`);
    const at = spatialCuts(modelFile, ...c.shape).at(-1)!.name;
    // The bundle declares its resize, so the camera and the reference below prepare images alike.
    const { dir, manifest } = await splitBundle(c.name, modelFile, at, ...c.shape, '--resize', 'crop', ...IMAGENET);
    assert.equal(manifest.task?.kind ?? 'classification', c.kind);
    const cameraDir = path.join(work, `camera-${c.name}`);
    const files = writeCameraFiles(cameraDir, held.slice(0, 3));
    Object.assign(process.env, { SPLIT_DNN_BUNDLE: dir, SPLIT_DNN_GATEWAY: `gw-${c.name}` });
    const flow = await loadCameraFlow(cameraDir);
    await triggerEach(flow, files.length);
    const answers = await flow.results.wait(files.length, 60_000);
    const original = await ort.InferenceSession.create(modelFile);
    let same = 0;
    for (const m of answers) {
      const answer = m.payload as TaskResult & { source: string };
      assert.equal(answer.kind, c.kind);
      const want = await originalAnswer(original, manifest, decodeImage(fs.readFileSync(path.join(cameraDir, files[m.sampleIndex as number]))));
      if (answer.kind === 'multilabel') {
        if (outcomeOf(want, answer) === 'correct') same++;
      } else if (answer.kind === 'tensors') {
        // Every output with the original's dims; values within the 8-bit split's error.
        const w = (want as TensorsResult).outputs;
        assert.deepEqual(Object.keys(answer.outputs), Object.keys(w));
        const err = Math.max(...Object.keys(w).flatMap((k) => w[k].data.map((v, i) => Math.abs(v - answer.outputs[k].data[i]))));
        assert.deepEqual(Object.keys(w).map((k) => answer.outputs[k].dims), Object.keys(w).map((k) => w[k].dims));
        if (err < 0.5) same++;
      }
    }
    assert.ok(same >= files.length - 1, `${c.name}: ${same} of ${files.length} answers as the original model's`);
    assert.equal(await metric('split_dnn_task_results_total', { gateway: `gw-${c.name}`, source: 'cloud', task: c.kind }), files.length);
    await original.release();
    await helper.unload();
  }
});
