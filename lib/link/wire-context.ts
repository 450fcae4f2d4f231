// Which wire version each frame and answer travels in (docs/wire-format.md §5). A gateway
// announces its v2 context in its birth (boot, time base, model list) and sends v1 until a
// tail has answered it in v2, so a mixed fleet keeps working: an old tail never sees v2,
// an old gateway's birth has no context, so it is answered in v1.
import { checkContext, decodeFrame, decodeFrameV2, Frame, isFrameV2, LinkContext, MAX_CONTEXT_MODELS, WireError } from '../wire';
import { echoMismatch, echoMismatchV2 } from './identity';
import { taskFor } from '../task';
import { loadedManifest } from '../model/registry';
import { answerBody } from './answer-body';

/** What a birth carries for v2, beside `software`. */
export interface BirthContext { wire: 2; epochMs: number; models: string[] }

/** The gateway end: its own context, what the broker has confirmed of it, whether tails speak v2. */
export class EdgeWire {
  readonly ctx: { gatewayId: string; bootId: number; epochMs: number; models: string[] };
  /** Models the birth PUBACKed on this connection listed: frames of others go v1 until it has. */
  private announced = 0;
  /** A tail answered in v2: from then on frames go v2 (never reset, tails do not downgrade). */
  peerV2 = false;

  constructor(gatewayId: string, bootId: number, epochMs: number) {
    this.ctx = { gatewayId, bootId, epochMs, models: [] };
  }

  /** Adds a frame's model; true when the list grew (a new birth should say so). */
  learn(modelId: string): boolean {
    if (this.ctx.models.includes(modelId) || this.ctx.models.length >= MAX_CONTEXT_MODELS) return false;
    this.ctx.models.push(modelId);
    return true;
  }

  birthBody(): BirthContext { return { wire: 2, epochMs: this.ctx.epochMs, models: [...this.ctx.models] }; }

  /** A new connection: nothing announced on it yet. */
  reset(): void { this.announced = 0; }
  /** The birth listing the first `count` models was acknowledged by the broker. */
  confirm(count: number): void { this.announced = Math.max(this.announced, count); }

  /** Whether a frame may go v2 now: a v2 tail, the link's own gateway, its model announced. */
  v2(f: Frame): boolean {
    if (!this.peerV2 || f.gatewayId !== this.ctx.gatewayId) return false;
    const i = this.ctx.models.indexOf(f.modelId);
    return i >= 0 && i < this.announced;
  }
}

/** The v2 context a birth frame announces, or null (an old gateway, or a malformed one). */
export function contextOfBirth(gateway: string, f: Frame): LinkContext | null {
  const b = f.body as Partial<BirthContext> | undefined;
  if (f.kind !== 'birth' || b?.wire !== 2) return null;
  const ctx = { gatewayId: gateway, bootId: f.bootId, epochMs: b.epochMs as number, models: b.models as string[] };
  try { checkContext(ctx); } catch { return null; }
  return ctx;
}

/** CRC-32C of a v1 frame: its last four bytes, what a v2 answer echoes. */
export function frameCrc(v1: Uint8Array): number {
  return (v1[v1.length - 4] | (v1[v1.length - 3] << 8) | (v1[v1.length - 2] << 16) | (v1[v1.length - 1] << 24)) >>> 0;
}

/** Reads a compact answer with the task of the model it answers for. */
export type AnswerReader = (modelId: string, answer: Uint8Array) => Record<string, unknown>;

/** The default reader: the manifest of a bundle loaded in this process (a gateway runs the head). */
export const readWithLoadedManifest: AnswerReader = (modelId, answer) => {
  const manifest = loadedManifest(modelId);
  if (!manifest) throw new WireError('BAD_PAYLOAD', 'answer', `no bundle of model ${modelId} is loaded here to read its compact answer`);
  try {
    return answerBody(taskFor(manifest).decodeAnswer(answer));
  } catch (err) {
    throw new WireError('BAD_PAYLOAD', 'answer', `${(err as Error).message}`);
  }
};

/** An answer as the edge reads it off the link, v1 or v2, before it is matched with its frame. */
export interface IncomingAnswer {
  bootId: number;
  seq: number;
  v2: boolean;
  /** Why it does not answer `sent` (identity.ts), or null. */
  mismatch(sent: Frame, sentBytes: Uint8Array, topicModel: string | null): string | null;
  /** The answer as a v1-shaped frame (the fields of the frame it answers, the answer's body). */
  frame(sent: Frame): Frame;
}

export function parseAnswer(payload: Uint8Array, ctx: LinkContext, read: AnswerReader): IncomingAnswer {
  if (!isFrameV2(payload)) {
    const f = decodeFrame(payload);
    if (f.kind !== 'result' && f.kind !== 'ack') throw new WireError('BAD_KIND', 'kind', `a ${f.kind} frame on an answer topic`);
    return { bootId: f.bootId, seq: f.seq, v2: false, mismatch: (sent, _b, model) => echoMismatch(f, sent, model), frame: () => f };
  }
  const a = decodeFrameV2(payload, ctx);
  if (a.kind === 'features') throw new WireError('BAD_KIND', 'kind', 'a features frame on an answer topic');
  return {
    bootId: a.bootId, seq: a.seq, v2: true,
    mismatch: (_sent, bytes) => echoMismatchV2(a, frameCrc(bytes)),
    frame: (sent) => {
      const f: Frame = { ...sent, kind: a.kind, shape: [], payload: a.answer };
      delete f.flags;
      if (a.flags) f.flags = a.flags;
      if (a.kind === 'result') f.body = bodyOf(a.answer, !!a.json, sent.modelId, read);
      return f;
    },
  };
}

function bodyOf(answer: Uint8Array, json: boolean, modelId: string, read: AnswerReader): Record<string, unknown> {
  if (json) return JSON.parse(Buffer.from(answer).toString('utf8')) as Record<string, unknown>; // checked by decodeFrameV2
  // Answered but unreadable here: it still clears the frame (a resend would get the same), and says why.
  try { return read(modelId, answer); } catch (err) { return { error: (err as Error).message }; }
}
