// early-exit-gate: answers at the edge when the exit branch is confident enough (output 1)
// and forwards the rest to the encoder (output 2). The threshold comes from the editor,
// from the manifest's calibration table for a target accuracy, or from msg.threshold. In
// promise mode it keeps "share of exited answers that differ from the full model's <= epsilon
// with probability >= 1 - delta": certified from the manifest's exit.risk, checked live by
// audits the cloud answers (lib/exit/promise), tightened when the audits show it broken.
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { decide, thresholdForAccuracy, expectedAt, ExitPromise, checkSettings, describeChange, auditRoutes, type AuditAnswer, type GuardChange } from '../../lib/exit';
import type { ModelRuntime } from '../../lib/model';
import { handleInput, StatusLine, short, statusParts, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface GateDef extends NodeDef {
  model: string; mode: 'threshold' | 'accuracy' | 'promise'; threshold: string; targetAccuracy: string;
  epsilon: string; delta: string; auditShare: string; auditBudget: string; auditRide?: string; loss: string;
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

const NEVER = Number.POSITIVE_INFINITY;

function register(RED: NodeAPI): void {
  function EarlyExitGate(this: Node, def: GateDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    // Empty means the bundle's calibrated default, applied once the manifest is loaded.
    let threshold = def.threshold === '' || def.threshold === undefined ? Number.NaN : Number(def.threshold);
    let exited = 0;
    let forwarded = 0;
    let promise: ExitPromise | null = null;
    let refused: string | null = null;
    const status = new StatusLine(this, () => {
      if (refused) return { fill: 'red', shape: 'ring', text: refused.slice(0, 60) };
      const total = exited + forwarded;
      const t = threshold === NEVER ? RED._('early-exit-gate.status.off') : threshold.toFixed(2);
      const line = RED._('early-exit-gate.status.exits', { threshold: t, percent: total ? Math.round((100 * exited) / total) : 0, n: short(total) });
      if (!promise) return { fill: 'green', shape: 'dot', text: line };
      const b = promise.guard.bounds();
      const eps = promise.settings.epsilon;
      const audit = promise.paused ? RED._('early-exit-gate.status.auditPaused') : RED._('early-exit-gate.status.audit', { losses: b.losses, n: b.n, upper: pct(b.upper) });
      const text = statusParts(line, RED._('early-exit-gate.status.promise', { epsilon: pct(eps), audit }),
        promise.guard.uncertified ? RED._('early-exit-gate.status.changed') : promise.guard.tightened && RED._('early-exit-gate.status.tightened'));
      const fill = b.lower > eps || promise.guard.tightened ? 'yellow' : promise.paused ? 'grey' : 'green';
      return { fill, shape: b.upper <= eps ? 'dot' : 'ring', text };
    });
    const applied = (change: GuardChange | null | undefined) => {
      if (!promise || !change) return;
      threshold = promise.threshold;
      const line = describeChange(change, promise.settings.epsilon);
      if (change.kind === 'tighten') this.warn(line); else this.log(line);
    };
    const onAudit = (a: AuditAnswer) => {
      if (!promise) return;
      applied(promise.answer(a.id, a.error ? null : a.index)?.change);
      status.update();
    };

    const setTarget = (rt: ModelRuntime, target: number): void => {
      const t = thresholdForAccuracy(rt.manifest.exit?.calibration ?? [], target);
      threshold = t ?? NEVER;
      if (t === null) this.warn(`no calibrated threshold reaches accuracy ${target}; nothing will exit`);
    };

    const startPromise = (rt: ModelRuntime): void => {
      try {
        const settings = checkSettings({ epsilon: def.epsilon, delta: def.delta, auditShare: def.auditShare, auditBudget: def.auditBudget, auditRideMs: def.auditRide, loss: def.loss });
        const risk = rt.manifest.exit?.risk;
        if (!risk) throw new Error(`bundle ${rt.manifest.name} has no exit.risk calibration: run split-dnn eval --update-manifest`);
        promise = new ExitPromise(settings, risk);
      } catch (err) {
        // Refused, not guessed: nothing exits until the settings are fixed.
        refused = (err as Error).message;
        threshold = NEVER;
        this.error(`promise mode refused: ${refused}; nothing exits`);
        return;
      }
      threshold = promise.threshold;
      promise.onStream = (e) => {
        const d = e.evidence;
        if (e.kind === 'back') this.log(`stream back near the calibration: ${d.below} of the last ${d.frames} frames below confidence ${d.level.toFixed(4)} (calibrated ${pct(d.expected)}); auditing more to re-earn the exits`);
      };
      auditRoutes.attach(this.id, onAudit);
      const c = promise.certified;
      this.log(`promise: exited answers differ from the full model's in <= ${pct(promise.settings.epsilon)} with probability >= ${1 - promise.settings.delta}; certified threshold ${c.threshold} (calibration exit rate ${pct(c.exitRate)}, upper bound ${c.upper === null ? '-' : pct(c.upper)}), audits ${pct(promise.settings.auditShare)}${promise.settings.auditRideMs ? ` of the exits within ${promise.settings.auditRideMs} ms of a forwarded frame` : ''}; drift alarm below confidence ${promise.watch.level.toFixed(4)} (calibrated ${pct(promise.watch.expected)} of frames)`);
    };

    const ready: Promise<ModelRuntime> | null = config?.runtime.then((rt) => {
      if (def.mode === 'promise') startPromise(rt);
      else if (def.mode === 'accuracy') setTarget(rt, Number(def.targetAccuracy));
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
        if (promise && (msg.threshold !== undefined || msg.targetAccuracy !== undefined)) throw new Error('the gate keeps a promise: its threshold moves only on audit evidence, not msg.threshold');
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
      if (refused) throw new Error(`promise mode refused: ${refused}`);
      if (promise) t = promise.threshold;
      const d = decide(logits, 0, classes, rt.manifest.exit?.confidence ?? 'max_softmax', t);
      msg.exit = { index: d.index, confidence: d.confidence, threshold: t, exited: d.exit, ...(promise ? { promise: promise.report() } : {}) };
      const ticket = promise?.draw(d.index, d.confidence, d.exit) ?? null;
      // The label-free drift alarm sees every frame; a change applies from the next frame on.
      applied(promise?.observe(d.confidence));
      if (d.exit) {
        exited++;
        // The audit copy is cloned before the answer is set: it carries the features only,
        // and its answer comes back to this gate, never out of the link as a result.
        const copy = ticket ? RED.util.cloneMessage(msg) : null;
        if (copy) copy.audit = { gate: this.id, id: ticket!.id, copy: true };
        // Nothing after an answer reads the split tensor, and Node-RED deep-copies a message
        // sent to two wires: lodash copies a Float32Array element by element (0.3 ms a frame).
        delete msg.features;
        msg.payload = { label: rt.manifest.labels[d.index], index: d.index, confidence: d.confidence, source: 'edge' };
        send([msg as NodeMessage, copy]);
      } else {
        forwarded++;
        // Forwarded anyway (a tightened gate): its real answer is compared as well, at no cost.
        if (ticket) msg.audit = { gate: this.id, id: ticket.id, copy: false };
        send([null, msg as NodeMessage]);
      }
      status.update();
    });

    this.on('close', () => { auditRoutes.detach(this.id, onAudit); status.stop(); });
  }
  RED.nodes.registerType('early-exit-gate', EarlyExitGate);
}

module.exports = register;
