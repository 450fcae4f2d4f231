// split-head: an image (raw uint8 pixels, or an already preprocessed Float32Array) → the
// head ONNX model → msg.features (the split tensor) and msg.exitLogits.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { preprocessPixels, pixelsPerFrame, InferenceError, ModelRuntime } from '../../lib/model';
import { handleInput, StatusLine, short, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface SplitHeadDef extends NodeDef { model: string }

/** The head's float input for one message, whatever form the image arrived in. */
export function headInput(rt: ModelRuntime, payload: unknown): Float32Array {
  const m = rt.manifest;
  const floats = m.input.shape.slice(1).reduce((a, b) => a * b, 1);
  if (payload instanceof Float32Array) {
    if (payload.length !== floats) throw new InferenceError('BAD_INPUT', `Float32Array payload has ${payload.length} values, the head takes ${floats} ([${m.input.shape.slice(1)}])`);
    return payload;
  }
  if (payload instanceof Uint8Array) return preprocessPixels(m, payload, 1);
  if (Array.isArray(payload) && payload.length === pixelsPerFrame(m) && payload.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    return preprocessPixels(m, Uint8Array.from(payload), 1);
  }
  const s = m.input.source;
  const got = payload === null ? 'null' : Array.isArray(payload) ? `an array of ${payload.length}` : typeof payload === 'object' ? (payload as object).constructor?.name ?? 'object' : typeof payload;
  throw new InferenceError('BAD_INPUT', `payload must be ${s.channels}×${s.height}×${s.width} uint8 pixels (Buffer) or a Float32Array of ${floats}; got ${got}`);
}

function register(RED: NodeAPI): void {
  function SplitHead(this: Node, def: SplitHeadDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    let frames = 0;
    let errors = 0;
    const status = new StatusLine(this, () => ({ fill: 'green', shape: 'dot', text: `${short(frames)} frames${errors ? `, ${errors} errors` : ''}` }));
    if (!config) {
      status.set({ fill: 'red', shape: 'ring', text: NO_MODEL });
    } else {
      status.set({ fill: 'yellow', shape: 'ring', text: 'split-head.status.loading' });
      config.runtime.then(() => status.set({ fill: 'green', shape: 'dot', text: 'split-head.status.ready' }),
        (err: Error) => status.set({ fill: 'red', shape: 'ring', text: `model: ${err.message.slice(0, 30)}` }));
    }

    handleInput(this, status, async (msg, send) => {
      if (!config) throw new Error('split-head has no split-model configured');
      await config.runtime;
      // Read once per frame: an update switches versions between two frames, never inside one.
      const rt = config.slot.current;
      const started = performance.now();
      const out = await rt.head(headInput(rt, msg.payload), 1).catch((err: Error) => {
        // A bad input is the sender's fault; a failed run counts against the version (probation).
        if (!(err instanceof InferenceError && err.code === 'BAD_INPUT')) config.slot.report(rt.modelId, false, `head: ${err.message}`);
        throw err;
      });
      msg.features = { data: out.features, shape: rt.manifest.split.shape };
      msg.exitLogits = out.exitLogits;
      msg.modelId = rt.modelId;
      msg.capturedAt = typeof msg.capturedAt === 'number' ? msg.capturedAt : Date.now();
      msg.timing = { ...(msg.timing as object | undefined), headMs: performance.now() - started };
      frames++;
      status.update();
      send(msg);
    }, () => { errors++; });

    this.on('close', () => status.stop());
  }
  RED.nodes.registerType('split-head', SplitHead);
}

module.exports = register;
