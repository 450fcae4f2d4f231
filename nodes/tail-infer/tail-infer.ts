// tail-infer: a features frame from any source → validate (CRC, bounds, model id, rate,
// shape) → entropy decode → dequantize → decoder unit → tail → the bundle's task (lib/task:
// a class, labels, boxes or raw tensors) → an answer frame for the gateway plus
// msg.result. Duplicates (same gateway, boot, seq) get the cached answer
// again instead of a second result, so a gateway that resent still clears its outbox.
// Gaps are the cloud mqtt-transmit's to report: in a shared group it alone sees the
// whole stream, through the answers of the other tails. A frame that came over the link
// (msg.topic) belongs to the topic's gateway: caches go by it, and a header that names
// another gateway is refused without an answer.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ModelRuntime } from '../../lib/model';
import { codecsFor } from '../../lib/codec/rate-codec';
import { decodeFrame, encodeFrame, Frame } from '../../lib/wire';
import { SequenceTracker, frameKey } from '../../lib/link/sequence';
import { headerDisagrees, topicIdentity } from '../../lib/link/identity';
import { BoundedMap } from '../../lib/link/bounded-map';
import { Task, perSample, taskFor } from '../../lib/task';
import { answerBody } from '../../lib/link/answer-body';
import { handleInput, StatusLine, short, statusParts, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';

interface TailDef extends NodeDef { model: string }

const ANSWER_CACHE = 8192;

function register(RED: NodeAPI): void {
  function TailInfer(this: Node, def: TailDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    const tracker = new SequenceTracker();
    // Answers by frame key, as promises: a resent frame can arrive while its first copy is
    // still being inferred, and must get that same answer rather than a second result.
    const answers = new BoundedMap<string, Promise<Buffer>>(ANSWER_CACHE);
    let results = 0;
    let rejected = 0;
    const status = new StatusLine(this, () => ({
      fill: 'green', shape: 'dot',
      text: statusParts(
        RED._('tail-infer.status.results', { n: short(results) }),
        tracker.duplicates > 0 && RED._('tail-infer.status.duplicates', { n: tracker.duplicates }),
        rejected > 0 && RED._('tail-infer.status.rejected', { n: rejected })),
    }));
    const ready: Promise<ModelRuntime> | null = config?.runtime ?? null;
    ready?.catch((err: Error) => status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }));
    if (!config) status.set({ fill: 'red', shape: 'ring', text: NO_MODEL });

    // The bundle's task turns tail outputs into the answer; one per loaded version.
    const tasks = new WeakMap<ModelRuntime, Task>();
    const taskOf = (rt: ModelRuntime): Task => {
      let t = tasks.get(rt);
      if (!t) tasks.set(rt, (t = taskFor(rt.manifest)));
      return t;
    };

    /** Answer a frame we cannot decode, so the gateway stops resending it and learns why. */
    const refuse = (f: Frame, why: string): Buffer =>
      encodeFrame({ ...f, kind: 'result', shape: [], payload: undefined, body: { error: why, source: 'cloud' } });

    handleInput(this, status, async (msg, send) => {
      if (!ready) throw new Error('tail-infer has no split-model configured');
      await ready;
      if (!(msg.payload instanceof Uint8Array)) throw new Error(`msg.payload must be a wire frame (Buffer), got ${typeof msg.payload}`);
      let f: Frame;
      try {
        f = decodeFrame(msg.payload);
      } catch (err) {
        rejected++;
        throw new Error(`bad frame: ${(err as Error).message}`);
      }
      if (f.kind !== 'features') throw new Error(`tail-infer takes features frames, got a ${f.kind} frame`);
      const on = typeof msg.topic === 'string' ? topicIdentity(msg.topic) : null;
      const forged = on && headerDisagrees(f, on);
      if (forged) {
        rejected++;
        throw new Error(`frame on ${String(msg.topic)} refused, not answered: ${forged}`);
      }
      const gateway = on?.gateway ?? f.gatewayId;
      const key = frameKey(f, gateway);
      const seen = tracker.see(gateway, f.bootId, f.seq);
      const cached = seen.duplicate ? answers.get(key) : undefined;
      if (cached) {
        msg.payload = await cached;
        msg.duplicate = true;
        status.update();
        send(msg);
        return;
      }
      if (seen.duplicate) msg.duplicate = true;
      const rt = config!.slot.get(f.modelId) ?? config!.slot.current;
      const codecs = codecsFor(rt.manifest);
      const why = f.modelId !== rt.modelId ? `frame is for model ${f.modelId}, this tail runs ${config!.slot.ids().map((id) => `${id} (${config!.slot.get(id)!.manifest.name} ${config!.slot.get(id)!.manifest.version})`).join(', ')}`
        : !codecs[f.rateLevel] ? `rate level ${f.rateLevel} does not exist (0..${codecs.length - 1})`
        : f.shape.join('x') !== codecs[f.rateLevel].shape.join('x') ? `symbol shape ${f.shape.join('x')} does not match rate ${f.rateLevel} (${codecs[f.rateLevel].shape.join('x')})`
        : null;
      let latent: Float32Array | null = null;
      let decodeError = why;
      if (!why) {
        try { latent = codecs[f.rateLevel].decode(f.payload); } catch (err) { decodeError = `payload does not decode: ${(err as Error).message}`; }
      }
      if (!latent) {
        rejected++;
        const answer = refuse(f, decodeError!);
        answers.set(key, Promise.resolve(answer));
        msg.payload = answer;
        msg.result = { error: decodeError, gateway, seq: f.seq };
        send(msg);
        throw new Error(decodeError!);
      }
      const started = performance.now();
      const inferred = (async () => {
        const outputs = await rt.tailOutputs(await rt.decode(f.rateLevel, latent, 1), 1);
        const result = taskOf(rt).interpret(perSample(outputs, 1)[0]);
        const body = { ...answerBody(result), source: 'cloud', latencyMs: Date.now() - f.timestampMs };
        // The compact form (lib/task) is what the link sends a v2 gateway; the frame's JSON is for everyone else.
        return { body, compact: taskOf(rt).encodeAnswer(result), answer: encodeFrame({ ...f, kind: 'result', shape: [], payload: undefined, body }) };
      })();
      answers.set(key, inferred.then((r) => r.answer));
      // A failed run must not leave a rejected answer cached for the resend.
      inferred.catch(() => answers.delete(key));
      const { body, answer, compact } = await inferred;
      results++;
      msg.payload = answer;
      msg.answer = compact;
      msg.result = { ...body, gateway, bootId: f.bootId, seq: f.seq, rate: f.rateLevel, bytes: f.payload.length };
      msg.timing = { ...(msg.timing as object | undefined), tailMs: performance.now() - started };
      status.update();
      send(msg);
    });

    this.on('close', () => status.stop());
  }
  RED.nodes.registerType('tail-infer', TailInfer);
}

module.exports = register;
