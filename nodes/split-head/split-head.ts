// split-head: an image (PNG, JPEG, raw pixels of any size, a frame in the bundle's format,
// or an already preprocessed Float32Array; lib/model/head-input) → the manifest's
// preprocessing → the head ONNX model → msg.features (the split tensor) and msg.exitLogits.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { headInput, InferenceError, RawHints } from '../../lib/model';
import { StatusLine, short, statusParts, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';
import { admitInput, AdmitDef } from './admit';

interface SplitHeadDef extends NodeDef, AdmitDef { model: string }

function register(RED: NodeAPI): void {
  function SplitHead(this: Node, def: SplitHeadDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    let frames = 0;
    let errors = 0;
    const status = new StatusLine(this, () => {
      const c = admission.counts();
      return { fill: c.pressure ? 'yellow' : 'green', shape: 'dot', text: statusParts(
        RED._('split-head.status.frames', { n: short(frames) }),
        c.shed > 0 && RED._('split-head.status.shed', { n: short(c.shed) }),
        errors > 0 && RED._('split-head.status.errors', { n: errors })) };
    });
    if (!config) {
      status.set({ fill: 'red', shape: 'ring', text: NO_MODEL });
    } else {
      status.set({ fill: 'yellow', shape: 'ring', text: 'split-head.status.loading' });
      config.runtime.then(() => status.set({ fill: 'green', shape: 'dot', text: 'split-head.status.ready' }),
        (err: Error) => status.set({ fill: 'red', shape: 'ring', text: RED._('split-head.status.modelFailed', { error: err.message.slice(0, 30) }) }));
    }

    const admission = admitInput(this, def, async (msg, send) => {
      if (!config) throw new Error('split-head has no split-model configured');
      await config.runtime;
      // Read once per frame: an update switches versions between two frames, never inside one.
      const rt = config.slot.current;
      const started = performance.now();
      const out = await rt.head(headInput(rt.manifest, msg.payload, msg as RawHints), 1).catch((err: Error) => {
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
      send([msg, null]);
    }, { error: (err) => { errors++; status.error(err.message); }, change: () => status.update() });

    this.on('close', () => status.stop());
  }
  RED.nodes.registerType('split-head', SplitHead);
}

module.exports = register;
