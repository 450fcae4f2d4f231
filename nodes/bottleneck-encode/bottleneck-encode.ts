// bottleneck-encode: split tensor → the chosen rate's encoder unit → quantize → entropy
// code → one wire frame (Buffer), numbered per gateway for dedupe and gap detection.
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ModelRuntime } from '../../lib/model';
import { codecsFor, type RateCodec } from '../../lib/codec/rate-codec';
import { encodeFrame, FRAME_FLAGS } from '../../lib/wire';
import { auditTag } from '../../lib/exit/ledger';
import { processSequencer } from '../../lib/link/sequence';
import { RateController } from '../../lib/rate/controller';
import { topics } from '../../lib/link/topics';
import type { EdgeLink } from '../../lib/link/edge-link';
import { handleInput, StatusLine, short, statusParts, NO_MODEL } from '../common/node-kit';
import type { SplitModelNode } from '../split-model/split-model';
import type { SplitLinkNode } from '../split-link/split-link';

interface EncodeDef extends NodeDef { model: string; rate: string; gateway: string; link: string; targetMs: string }

const GATEWAY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * What one frame of each level weighs on the link (header + the coded bytes the manifest
 * measured), for the rate controller's byte budget; undefined when the bundle measured none.
 */
function expectedFrameBytes(rt: ModelRuntime, gateway: string): number[] | undefined {
  const coded = rt.manifest.rates.map((r) => r.measured?.codedBytes ?? r.measured?.idealBytes);
  if (coded.some((b) => typeof b !== 'number')) return undefined;
  return rt.manifest.rates.map((r, i) => encodeFrame({
    kind: 'features', rateLevel: r.level, modelId: rt.modelId, gatewayId: gateway, bootId: 0, seq: 0,
    timestampMs: 0, shape: r.symbolShape, payload: new Uint8Array(Math.ceil(coded[i] as number)),
  }).length);
}

function register(RED: NodeAPI): void {
  function BottleneckEncode(this: Node, def: EncodeDef) {
    RED.nodes.createNode(this, def);
    const config = RED.nodes.getNode(def.model) as SplitModelNode | null;
    const linkNode = def.link ? (RED.nodes.getNode(def.link) as SplitLinkNode | null) : null;
    const gateway = def.gateway || linkNode?.gateway || process.env.SPLIT_DNN_GATEWAY || 'gateway';
    // The node's rate: 'auto' or a fixed level, from the editor or a control message.
    let auto = def.rate === 'auto';
    let fixed = auto ? -1 : Number(def.rate);
    let frames = 0;
    let bytes = 0;
    let payloadBytes = 0;
    let lastLevel = -1;
    let link: EdgeLink | null = null;
    // One controller per model version: an update may bring units of other sizes, and the
    // byte budget must weigh the frames the current version really sends.
    const controllers = new Map<string, RateController>();
    const status = new StatusLine(this, () => ({
      fill: 'green', shape: 'dot',
      // Payload bytes (the coded symbols) and frame bytes (the v1 frame handed on), per frame.
      text: statusParts(
        RED._(auto ? 'bottleneck-encode.status.autoRate' : 'bottleneck-encode.status.rate', { level: lastLevel < 0 ? '-' : lastLevel }),
        RED._('bottleneck-encode.status.payload', { bytes: frames ? (payloadBytes / frames).toFixed(1) : 0 }),
        RED._('bottleneck-encode.status.frame', { bytes: frames ? (bytes / frames).toFixed(1) : 0 }),
        short(frames)),
    }));

    /** The version this frame's head ran on (msg.modelId from split-head), else the current one. */
    const versionFor = (modelId: unknown): ModelRuntime => {
      const rt = typeof modelId === 'string' ? config!.slot.get(modelId) : undefined;
      if (typeof modelId === 'string' && !rt) throw new Error(`msg.modelId ${modelId} is not loaded (held: ${config!.slot.ids().join(', ')}): the features came from another model`);
      return rt ?? config!.slot.current;
    };
    const ready: Promise<{ rt: ModelRuntime; codecs: RateCodec[] }> | null = config?.runtime.then((rt) => {
      if (!GATEWAY_ID.test(gateway)) throw new Error(`gateway id "${gateway}" must be 1-64 characters of A-Z a-z 0-9 . _ -`);
      const codecs = codecsFor(rt.manifest);
      if (!auto && !(Number.isInteger(fixed) && fixed >= 0 && fixed < codecs.length)) {
        this.warn(`rate ${def.rate} does not exist in ${rt.manifest.name}; using the largest, ${codecs.length - 1}`);
        fixed = codecs.length - 1;
      }
      return { rt, codecs };
    }) ?? null;
    ready?.catch((err: Error) => status.set({ fill: 'red', shape: 'ring', text: err.message.slice(0, 40) }));
    linkNode?.edge().then((l) => { link = l; }, () => undefined);
    if (!config) status.set({ fill: 'red', shape: 'ring', text: NO_MODEL });

    /** A level from msg.rate, checked; 'auto' stays 'auto'. */
    const parseRate = (requested: unknown, levels: number): number | 'auto' => {
      if (requested === 'auto') return 'auto';
      const level = Number(requested);
      if (!(requested !== '' && requested !== null && Number.isInteger(level) && level >= 0 && level < levels)) {
        throw new Error(`msg.rate must be "auto" or a rate level 0..${levels - 1}, got ${JSON.stringify(requested)}`);
      }
      return level;
    };

    const chooseLevel = (requested: unknown, rt: ModelRuntime, levels: number): { level: number; auto: boolean } => {
      const rate = requested === undefined ? (auto ? 'auto' : fixed) : parseRate(requested, levels);
      if (rate !== 'auto') return { level: rate, auto: false };
      // Kept for the node's life, so switching back to auto resumes from its state.
      let controller = controllers.get(rt.modelId);
      if (!controller) {
        controller = new RateController({ levels, bytesPerFrame: expectedFrameBytes(rt, gateway), targetMs: Number(def.targetMs) || undefined });
        controllers.set(rt.modelId, controller);
      }
      // The link's stats carry the controller's signal under the same names.
      const s = link?.stats();
      const signal = s ? { ...s, connected: s.state === 'connected' } : { pending: 0, latencyMsP95: null, connected: true };
      return { level: controller.next(signal), auto: true };
    };

    handleInput(this, status, async (msg, send) => {
      if (!ready) throw new Error('bottleneck-encode has no split-model configured');
      await ready;
      const rt = versionFor(msg.modelId);
      const codecs = codecsFor(rt.manifest);
      // A message without features is a control message: it sets the node's rate for good.
      if (msg.features === undefined && msg.rate !== undefined) {
        const rate = parseRate(msg.rate, codecs.length);
        auto = rate === 'auto';
        if (rate !== 'auto') fixed = rate;
        this.log(`rate set to ${rate}`);
        status.now();
        return;
      }
      const features = msg.features as { data?: unknown } | undefined;
      const splitSize = rt.manifest.split.shape.reduce((a, b) => a * b, 1);
      if (!(features?.data instanceof Float32Array) || features.data.length !== splitSize) {
        throw new Error(`msg.features.data must be a Float32Array of ${splitSize} (the split tensor from split-head)`);
      }
      const { level, auto: chosenByController } = chooseLevel(msg.rate, rt, codecs.length);
      const started = performance.now();
      const latent = await rt.encode(level, features.data, 1).catch((err: Error) => {
        config!.slot.report(rt.modelId, false, `encoder: ${err.message}`);
        throw err;
      });
      const coded = codecs[level].encode(latent);
      const seq = processSequencer.take(gateway);
      const frame = encodeFrame({
        kind: 'features', rateLevel: level, modelId: rt.modelId, gatewayId: gateway,
        bootId: processSequencer.bootId, seq, timestampMs: Math.round(Number(msg.capturedAt) || Date.now()),
        shape: codecs[level].shape, payload: coded.payload,
        // An audit copy of an exited frame: the cloud answers it so the gate can check its own answer.
        ...(auditTag(msg.audit)?.copy ? { flags: FRAME_FLAGS.audit } : {}),
      });
      msg.payload = frame;
      // The frame carries it now; a fan-out would deep-copy the split tensor element by element.
      delete msg.features;
      msg.topic = topics.features(gateway, rt.modelId);
      msg.frame = { gateway, bootId: processSequencer.bootId, seq, rate: level, modelId: rt.modelId, bytes: frame.length, payloadBytes: coded.payload.length, idealBytes: coded.idealBits / 8, auto: chosenByController };
      msg.timing = { ...(msg.timing as object | undefined), encodeMs: performance.now() - started };
      frames++;
      bytes += frame.length;
      payloadBytes += coded.payload.length;
      lastLevel = level;
      status.update();
      send(msg);
    });

    this.on('close', () => status.stop());
  }
  RED.nodes.registerType('bottleneck-encode', BottleneckEncode);
}

module.exports = register;
