// camera-source: frames from a folder or file of images of any size, a raw recording, or a
// video device (through ffmpeg), converted to the model bundle's frame format (manifest
// input.source, with its resize, letterbox fill and colour order: the same conversion
// split-head applies), on a timer or once per incoming message (e.g. a board-source trigger).
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { openCamera, FrameSource, CameraOptions } from '../../hardware/camera';
import { frameConversion, Fit, FrameShape } from '../../hardware/image';
import { handleInput, StatusLine, short, statusParts } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface CameraSourceDef extends NodeDef {
  model: string; source: string; width: string; height: string; channels: string;
  fps: string; fit: Fit; invert: boolean; autostart: boolean;
}

/** The frame shape and conversion: the bundle's when a model is named, else the size typed in. */
async function conversion(def: CameraSourceDef, model: SplitModelNode | null): Promise<{ shape: FrameShape; opts: CameraOptions }> {
  const own = { fit: def.fit || 'crop', invert: !!def.invert };
  if (model) return frameConversion((await model.runtime).manifest, own);
  const shape = { height: Number(def.height), width: Number(def.width), channels: Number(def.channels) || 1 };
  if (!(shape.height >= 1 && shape.width >= 1 && shape.height * shape.width <= 16e6)) throw new Error('camera-source needs a split-model, or a width and height');
  return { shape, opts: own };
}

function register(RED: NodeAPI): void {
  function CameraSource(this: Node, def: CameraSourceDef) {
    RED.nodes.createNode(this, def);
    const model = def.model ? RED.nodes.getNode(def.model) as SplitModelNode | null : null;
    const fps = Math.max(0, Number(def.fps) || 0);
    let frames = 0;
    let dropped = 0;
    let busy = false;
    // Paused by split-head's backpressure output: timer frames and triggers are skipped (counted as dropped).
    let held = false;
    let timer: NodeJS.Timeout | null = null;
    let camera: FrameSource | null = null;
    const status = new StatusLine(this, () => ({
      fill: timer ? (held ? 'yellow' : 'green') : 'grey', shape: timer ? 'dot' : 'ring',
      text: statusParts(
        timer ? RED._('camera-source.status.fps', { fps }) : RED._(fps ? 'camera-source.status.stopped' : 'camera-source.status.onTrigger'),
        RED._('camera-source.status.frames', { n: short(frames) }),
        dropped > 0 && RED._('camera-source.status.dropped', { n: dropped })),
    }));

    const ready = conversion(def, model).then(({ shape, opts }) => {
      camera = openCamera(RED.util.evaluateNodeProperty(def.source, 'str', this, {}) as string, shape, { ...opts, fps: fps || undefined });
      return camera;
    });
    ready.then(() => status.now(), (err: Error) => status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }));

    /** One frame into `msg` (the trigger's message, so its fields travel on) and out. */
    const capture = async (msg: Record<string, unknown>): Promise<void> => {
      const cam = await ready;
      if (busy || held) { dropped++; status.update(); return; } // the camera is slower than the trigger, or the head is full
      busy = true;
      try {
        const frame = await cam.next();
        frames++;
        this.send({ ...msg, payload: frame.data, camera: { name: frame.name, index: frame.index }, capturedAt: Date.now() });
        status.update();
      } finally {
        busy = false;
      }
    };
    const stop = () => { if (timer) clearInterval(timer); timer = null; status.now(); };
    const start = () => {
      if (timer || !fps) return;
      timer = setInterval(() => capture({}).catch((err: Error) => { status.error(err.message); this.error(err.message); }), 1000 / fps);
      status.now();
    };
    if (def.autostart) ready.then(start, () => undefined);

    handleInput(this, status, async (msg) => {
      if (msg.payload === 'start') { await ready; start(); }
      else if (msg.payload === 'stop') stop();
      else if (msg.payload === 'pause' || msg.payload === 'resume') { held = msg.payload === 'pause'; status.now(); }
      else await capture(msg as unknown as Record<string, unknown>); // anything else is a trigger
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      stop();
      status.stop();
      ready.then((cam) => cam.close(), () => undefined).then(() => done(), () => done());
    });
  }
  RED.nodes.registerType('camera-source', CameraSource);
}

module.exports = register;
