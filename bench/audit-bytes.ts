// Uplink link bytes of the frames a gate sends, with and without its audit copies: a model
// of the shipped link (bench/link-low-rate.ts measures the same link on the wire) built
// from real encodings. Frames are real wire v2 features frames of the bundle's coded size,
// coalesced as split-link does (a message leaves `coalesceMs` after its first frame, with
// every frame accepted by then, up to a full batch), packed by the real encodeBatch and
// wrapped in a real MQTT 3.1.1 PUBLISH at QoS 0; each TCP segment adds the 40 B IP/TCP
// header and 12 B of timestamps the low-rate bench measured, and each message's answers
// come back in one message whose TCP ACK goes up. Keepalive pings are counted too.
import * as mqttPacket from 'mqtt-packet';
import { encodeBatch, encodeFeaturesV2, MAX_BATCH_FRAMES, FRAME_FLAGS, type Frame } from '../lib/wire';
import { topics } from '../lib/link/topics';

const TCP_IP_BYTES = 40 + 12;
const MSS = 1448;
const PINGREQ_BYTES = 2;

export interface LinkModel { fps: number; coalesceMs: number; keepaliveS: number; gateway: string }
/** The low-rate scenario of the link bench: a 10 frames/s camera on the shipped flows. */
export const LOW_RATE: LinkModel = { fps: 10, coalesceMs: 1000, keepaliveS: 30, gateway: 'gw-c1000' };

export interface Sent { frame: number; audit: boolean }
export interface FrameShape { modelId: string; rateLevel: number; shape: readonly number[]; payload: Uint8Array }

export class UplinkModel {
  private readonly ctx;
  private readonly topic: string;

  constructor(readonly link: LinkModel, private readonly shape: FrameShape) {
    this.ctx = { gatewayId: link.gateway, bootId: 1, epochMs: 0, models: [shape.modelId] };
    this.topic = topics.frames(link.gateway);
  }

  /** Uplink bytes of a stream of `frames` camera frames that sent `sent` (in frame order). */
  bytes(sent: readonly Sent[], frames: number): number {
    const ms = 1000 / this.link.fps;
    let total = Math.floor((frames * ms) / 1000 / this.link.keepaliveS) * (PINGREQ_BYTES + 2 * TCP_IP_BYTES);
    for (let i = 0; i < sent.length;) {
      const closes = sent[i].frame * ms + this.link.coalesceMs;
      const batch: Buffer[] = [];
      while (i < sent.length && batch.length < MAX_BATCH_FRAMES && sent[i].frame * ms <= closes) batch.push(this.frame(sent[i++], ms));
      total += this.message(batch.length === 1 ? batch[0] : encodeBatch(batch));
    }
    return total;
  }

  private frame(s: Sent, ms: number): Buffer {
    const f: Frame = { kind: 'features', rateLevel: this.shape.rateLevel, modelId: this.shape.modelId, gatewayId: this.link.gateway, bootId: 1, seq: s.frame + 1, timestampMs: Math.round(s.frame * ms), shape: this.shape.shape, payload: this.shape.payload, flags: s.audit ? FRAME_FLAGS.audit : 0 };
    return encodeFeaturesV2(f, this.ctx);
  }

  private message(payload: Buffer): number {
    const publish = mqttPacket.generate({ cmd: 'publish', topic: this.topic, payload, qos: 0, dup: false, retain: false }).length;
    return publish + Math.ceil(publish / MSS) * TCP_IP_BYTES + TCP_IP_BYTES;
  }
}

/** (uplink bytes with the audit copies - without them) / without: what the audit costs the user. */
export function auditExtraUplink(model: UplinkModel, sent: readonly Sent[], frames: number): { withAudit: number; withoutAudit: number; extra: number } {
  const withAudit = model.bytes(sent, frames);
  const withoutAudit = model.bytes(sent.filter((s) => !s.audit), frames);
  return { withAudit, withoutAudit, extra: withoutAudit ? (withAudit - withoutAudit) / withoutAudit : 0 };
}
