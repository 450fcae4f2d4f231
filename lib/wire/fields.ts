// What wire version 2 leaves out of each frame because the link already carries it: the
// gateway (the topic), and, from the gateway's birth, its boot id, a time base and the
// list of model ids a frame points into. Both ends hold the same LinkContext; the CRC of a
// v2 frame covers it too, so a frame read against the wrong context fails its CRC.
import { WireError } from './errors';
import { MODEL_ID_BYTES } from './layout';

export const WIRE_VERSION_2 = 2;

export interface LinkContext {
  /** The topic's gateway id. */
  gatewayId: string;
  /** The boot its birth announced; a frame of another boot carries its own. */
  bootId: number;
  /** Time base: frame times are signed deltas from it (ms since the Unix epoch). */
  epochMs: number;
  /** Model ids (16 hex) in the order the birth announced them: a features frame names one by index. */
  models: readonly string[];
}

/** Models one context may list: a gateway process meets a handful (OTA keeps 3 versions). */
export const MAX_CONTEXT_MODELS = 64;

/** Bits above the kind code in a v2 kind byte. */
export const V2_BITS = {
  /** A u32 boot id follows the flags (the frame is not of the context's boot). */
  boot: 0x10,
  /** result: the answer is UTF-8 JSON (the debug and error form), not the task's compact bytes. */
  json: 0x20,
} as const;
export const V2_KIND_MASK = 0x0f;
export const V2_KNOWN_BITS = V2_BITS.boot | V2_BITS.json;

/** The context as the bytes the CRC starts from: gateway (length first), boot u32 LE, and for features the model id and time base. */
export function contextBytes(ctx: LinkContext, bootId: number, model?: { id: string }): Buffer {
  const gw = Buffer.from(ctx.gatewayId, 'latin1');
  const out = Buffer.alloc(1 + gw.length + 4 + (model ? MODEL_ID_BYTES + 8 : 0));
  out[0] = gw.length;
  gw.copy(out, 1);
  let at = out.writeUInt32LE(bootId >>> 0, 1 + gw.length);
  if (model) {
    out.write(model.id, at, 'hex');
    at += MODEL_ID_BYTES;
    out.writeDoubleLE(ctx.epochMs, at);
  }
  return out;
}

/** Checks a context before it is used to read or write frames (it comes from a peer's birth). */
export function checkContext(ctx: LinkContext): void {
  if (typeof ctx.gatewayId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(ctx.gatewayId)) throw new WireError('BAD_GATEWAY_ID', 'context.gatewayId', 'not a gateway id');
  if (!Number.isInteger(ctx.bootId) || ctx.bootId < 0 || ctx.bootId > 0xffffffff) throw new WireError('BAD_FIELD', 'context.bootId', 'must be a u32');
  if (!Number.isSafeInteger(ctx.epochMs) || ctx.epochMs < 0) throw new WireError('BAD_TIMESTAMP', 'context.epochMs', 'must be an integer >= 0');
  if (!Array.isArray(ctx.models) || ctx.models.length > MAX_CONTEXT_MODELS || !ctx.models.every((m) => typeof m === 'string' && /^[0-9a-f]{16}$/.test(m))) {
    throw new WireError('BAD_MODEL_ID', 'context.models', `must be up to ${MAX_CONTEXT_MODELS} model ids of 16 lowercase hex`);
  }
}
