// early-exit-gate: answers at the edge when the exit branch is confident enough (output 1)
// and forwards the rest to the encoder (output 2). The threshold comes from the editor,
// from the manifest's calibration table for a target accuracy, or from msg.threshold.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { decide, thresholdForAccuracy, expectedAt } from '../../lib/exit';
import type { ModelRuntime } from '../../lib/model';
import { handleInput, StatusLine, short, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface GateDef extends NodeDef { model: string; mode: 'threshold' | 'accuracy'; threshold: string; targetAccuracy: string }

const NEVER = Number.POSITIVE_INFINITY;

function register(RED: NodeAPI): void {
  function EarlyExitGate(this: Node, def: GateDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    // Empty means the bundle's calibrated default, applied once the manifest is loaded.
    let threshold = def.threshold === '' || def.threshold === undefined ? Number.NaN : Number(def.threshold);
    let exited = 0;
    let forwarded = 0;
    const status = new StatusLine(this, () => {
      const total = exited + forwarded;
      const t = threshold === NEVER ? 'off' : threshold.toFixed(2);
      return { fill: 'green', shape: 'dot', text: `t=${t} exit ${total ? Math.round((100 * exited) / total) : 0}% of ${short(total)}` };
    });

    const setTarget = (rt: ModelRuntime, target: number): void => {
      const t = thresholdForAccuracy(rt.manifest.exit?.calibration ?? [], target);
      threshold = t ?? NEVER;
      if (t === null) this.warn(`no calibrated threshold reaches accuracy ${target}; nothing will exit`);
    };

    const ready: Promise<ModelRuntime> | null = config?.runtime.then((rt) => {
      if (def.mode === 'accuracy') setTarget(rt, Number(def.targetAccuracy));
      else if (!Number.isFinite(threshold)) threshold = rt.manifest.exit?.defaultThreshold ?? 0.8;
      status.now();
      return rt;
    }) ?? null;
    ready?.catch(() => undefined);
    if (!config) status.set({ fill: 'red', shape: 'ring', text: NO_MODEL });

    handleInput(this, status, async (msg, send) => {
      if (!ready) throw new Error('early-exit-gate has no split-model configured');
      const rt = await ready;
      // A message without features is a control message: it changes the gate for good.
      const control = msg.features === undefined;
      let t = threshold;
      if (msg.threshold !== undefined) {
        const v = Number(msg.threshold);
        if (!(v >= 0 && v <= 1)) throw new Error(`msg.threshold must be a number from 0 to 1, got ${JSON.stringify(msg.threshold)}`);
        t = v;
      } else if (msg.targetAccuracy !== undefined) {
        const v = Number(msg.targetAccuracy);
        if (!(v > 0 && v <= 1)) throw new Error(`msg.targetAccuracy must be a number in (0, 1], got ${JSON.stringify(msg.targetAccuracy)}`);
        const found = thresholdForAccuracy(rt.manifest.exit?.calibration ?? [], v);
        t = found ?? NEVER;
      }
      if (control) {
        if (msg.threshold === undefined && msg.targetAccuracy === undefined) {
          throw new Error('message has neither msg.features (from split-head) nor msg.threshold / msg.targetAccuracy');
        }
        threshold = t;
        const expected = expectedAt(rt.manifest.exit?.calibration ?? [], t);
        this.log(`threshold set to ${t}${expected ? ` (calibrated exit rate ${(expected.exitRate * 100).toFixed(1)}%, accuracy ${(expected.accuracy * 100).toFixed(2)}%)` : ''}`);
        status.now();
        return;
      }
      const logits = msg.exitLogits as Float32Array | null | undefined;
      const classes = rt.manifest.labels.length;
      if (!logits) {
        forwarded++;
        status.update();
        send([null, msg]);
        return;
      }
      if (!(logits instanceof Float32Array) || logits.length !== classes) {
        throw new Error(`msg.exitLogits must be a Float32Array of ${classes} (from split-head)`);
      }
      const d = decide(logits, 0, classes, rt.manifest.exit?.confidence ?? 'max_softmax', t);
      msg.exit = { index: d.index, confidence: d.confidence, threshold: t, exited: d.exit };
      if (d.exit) {
        exited++;
        msg.payload = { label: rt.manifest.labels[d.index], index: d.index, confidence: d.confidence, source: 'edge' };
        send([msg as NodeMessage, null]);
      } else {
        forwarded++;
        send([null, msg as NodeMessage]);
      }
      status.update();
    });

    this.on('close', () => status.stop());
  }
  RED.nodes.registerType('early-exit-gate', EarlyExitGate);
}

module.exports = register;
