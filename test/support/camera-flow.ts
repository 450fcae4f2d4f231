// The all-in-one flow with camera-source in place of the sample camera (what a gateway with a
// real camera runs), for node-red-node-test-helper: helpers see the answers at the gateway,
// the camera's frames and every caught error; images written as the camera's files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import type { Image } from '../../lib/model/image-input';
import { helper, ALL_NODES, CORE_NODES, Collector, modelReady } from './red';
import { HARDWARE_NODES } from './hardware-red';
import { readFlow, patch, asHelper, tap, withoutDashboard, FlowNode } from './flows';
import { tempDir } from './paths';

export function pngOf(img: Image): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  for (let i = 0; i < img.width * img.height; i++) png.data.set([img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2], 255], i * 4);
  return PNG.sync.write(png);
}

export function jpegOf(img: Image): Buffer {
  const rgba = Buffer.alloc(img.width * img.height * 4, 255);
  for (let i = 0; i < img.width * img.height; i++) rgba.set(img.data.subarray(i * 3, i * 3 + 3), i * 4);
  return jpeg.encode({ width: img.width, height: img.height, data: rgba }, 92).data;
}

/** Images as camera files in name order, alternately JPEG and PNG; returns the file names. */
export function writeCameraFiles(dir: string, images: Image[], prefix = 'frame'): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return images.map((img, i) => {
    const name = `${prefix}-${String(i + 1).padStart(2, '0')}.${i % 2 ? 'png' : 'jpg'}`;
    fs.writeFileSync(path.join(dir, name), i % 2 ? pngOf(img) : jpegOf(img));
    return name;
  });
}

export interface CameraFlow { results: Collector; frames: Collector; caught: Collector }

/**
 * Loads all-in-one.json (env: SPLIT_DNN_BUNDLE, _BROKER, _GATEWAY …) with a camera-source
 * reading `cameraDir` on trigger only, the encoder at rate 0, and helpers on the gateway's
 * results, the camera's output and the tab's catch node.
 */
export async function loadCameraFlow(cameraDir: string): Promise<CameraFlow> {
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
  return { results: new Collector('edge-results'), frames: new Collector('frames'), caught: new Collector('caught') };
}

/**
 * One trigger per camera file (msg.sampleIndex = the trigger's number, which travels to the
 * answer), each after the last frame came out or failed: a trigger while busy is dropped.
 */
export async function triggerEach(flow: CameraFlow, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const done = flow.frames.messages.length + flow.caught.messages.length;
    helper.getNode('edge-camera').receive({ sampleIndex: i });
    for (let t = 0; flow.frames.messages.length + flow.caught.messages.length === done; t++) {
      if (t > 2000) throw new Error(`camera gave nothing for trigger ${i}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
