import { WireError } from './errors';
import { Frame, FrameKind, JsonObject } from './layout';

// ignoreBOM keeps a leading U+FEFF in the string, so JSON.parse refuses it instead of the
// decoder silently dropping bytes (every accepted frame re-encodes to the same bytes).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** What a result frame carries (header echoes gateway, boot, seq, timestamp of the features frame). */
export interface ResultBody extends JsonObject {
  /** Class index into the manifest's labels. */
  index: number;
  label: string;
  /** 0..1 (max softmax of the answering head). */
  confidence: number;
  /** Who answered: the edge exit or the cloud tail. */
  source: 'edge' | 'cloud';
  /** Capture to answer, ms, when known. */
  latencyMs?: number;
}

/** Sent by a gateway when it connects (retained is up to the transport). */
export interface BirthBody extends JsonObject {
  /** Package name@version of the sender. */
  software: string;
  /** Rate levels the gateway may send. */
  rates?: number[];
}

/** The gateway's MQTT will, or sent on clean shutdown. */
export interface DeathBody extends JsonObject {
  /** 'will' (sent by the broker), 'shutdown', or another word. */
  reason: string;
}

/** Checks a frame's payload against its kind; returns the parsed body for JSON kinds. */
export function checkPayload(kind: FrameKind, payload: Uint8Array): JsonObject | undefined {
  if (kind === 'ack') {
    if (payload.length !== 0) throw new WireError('BAD_PAYLOAD', 'payload', `ack payload must be empty, has ${payload.length} bytes`);
    return undefined;
  }
  if (kind === 'features') return undefined; // coded symbols: checked by the codec (empty is valid)
  return parseJsonObject(payload);
}

function parseJsonObject(payload: Uint8Array): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(payload));
  } catch (e) {
    const why = e instanceof TypeError ? 'not valid UTF-8' : 'not valid JSON';
    throw new WireError('BAD_PAYLOAD', 'payload', why);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('BAD_PAYLOAD', 'payload', 'JSON payload must be an object');
  }
  return value as JsonObject;
}

/** UTF-8 JSON bytes of a body, for encodeFrame of result/birth/death. */
export function jsonPayload(body: JsonObject): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(body));
}

/** The validated result of a result frame; throws WireError BAD_PAYLOAD naming the field. */
export function readResult(frame: Frame): ResultBody {
  const body = requireBody(frame, 'result');
  const { index, label, confidence, source, latencyMs } = body;
  if (!Number.isInteger(index) || (index as number) < 0) bad('index', 'a non-negative integer');
  if (typeof label !== 'string') bad('label', 'a string');
  if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) bad('confidence', 'a number in 0..1');
  if (source !== 'edge' && source !== 'cloud') bad('source', '"edge" or "cloud"');
  if (latencyMs !== undefined && !(typeof latencyMs === 'number' && latencyMs >= 0 && Number.isFinite(latencyMs))) {
    bad('latencyMs', 'a finite number >= 0');
  }
  return body as ResultBody;
}

export function readBirth(frame: Frame): BirthBody {
  const body = requireBody(frame, 'birth');
  if (typeof body.software !== 'string') bad('software', 'a string');
  const rates = body.rates;
  if (rates !== undefined && !(Array.isArray(rates) && rates.every((r) => Number.isInteger(r) && r >= 0 && r <= 255))) {
    bad('rates', 'an array of integers 0..255');
  }
  return body as BirthBody;
}

export function readDeath(frame: Frame): DeathBody {
  const body = requireBody(frame, 'death');
  if (typeof body.reason !== 'string') bad('reason', 'a string');
  return body as DeathBody;
}

function requireBody(frame: Frame, kind: FrameKind): JsonObject {
  if (frame.kind !== kind) throw new WireError('BAD_KIND', 'kind', `expected a ${kind} frame, got ${frame.kind}`);
  return frame.body ?? parseJsonObject(frame.payload);
}

function bad(field: string, what: string): never {
  throw new WireError('BAD_PAYLOAD', `payload.${field}`, `must be ${what}`);
}
