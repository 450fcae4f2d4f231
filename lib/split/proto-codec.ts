// Protocol Buffers binary encoding by a schema's field tables (lib/split/proto-schema.ts).
// Decoded messages behave as protobufjs's do: camelCase fields, repeated fields always
// arrays, absent scalars read their default through the prototype, absent messages null.
// Fields the schema does not know are kept as raw bytes and written back unchanged.
import type { FieldSpec, MessageSpec, Schema } from './proto-schema';

/** A 64-bit integer beyond 2^53, kept exact (e.g. Slice's INT64_MAX ends). */
export class Int64Value {
  constructor(readonly value: bigint) {}
  toNumber(): number { return Number(this.value); }
}
type Int64Like = number | bigint | { toNumber(): number; value?: bigint };

const UNKNOWN = Symbol('unknown fields');
type Message = Record<string | symbol, unknown>;

export class ProtoError extends Error {}

const DEFAULTS: Record<string, unknown> = { string: '', bytes: new Uint8Array(0), bool: false, enum: 0 };
const prototypes = new WeakMap<MessageSpec, object>();
function prototypeOf(spec: MessageSpec): object {
  let proto = prototypes.get(spec);
  if (!proto) {
    proto = {};
    for (const f of spec.fields) if (!f.repeated) (proto as Message)[f.name] = typeof f.type === 'object' ? null : DEFAULTS[f.type] ?? 0;
    prototypes.set(spec, proto);
  }
  return proto;
}

class Reader {
  pos: number;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  varint(): bigint | number {
    let lo = 0, shift = 0, b: number;
    // Up to 7 bytes fit a double exactly; longer ones (negatives, 2^53+) go through BigInt.
    do {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      b = this.buf[this.pos++];
      if (shift < 49) lo += (b & 0x7f) * 2 ** shift;
      else return this.bigTail(lo, shift, b);
      shift += 7;
    } while (b & 0x80);
    return lo;
  }
  private bigTail(lo: number, shift: number, b: number): bigint {
    let v = BigInt(lo) | (BigInt(b & 0x7f) << BigInt(shift));
    while (b & 0x80) {
      if (this.pos >= this.end || (shift += 7) > 63) throw new ProtoError('bad varint');
      b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << BigInt(shift);
    }
    return BigInt.asUintN(64, v);
  }
  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw new ProtoError('length beyond the message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  f32(): number { const at = this.pos; this.take(4); return this.view.getFloat32(at, true); }
  f64(): number { const at = this.pos; this.take(8); return this.view.getFloat64(at, true); }
}

function signed(v: bigint | number, bits: 32 | 64, unsigned = false): number | Int64Value {
  const big = unsigned ? BigInt.asUintN(bits, BigInt(v)) : BigInt.asIntN(bits, BigInt(v));
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : new Int64Value(big);
}

function scalar(r: Reader, f: FieldSpec): unknown {
  switch (f.type) {
    case 'float': return r.f32();
    case 'double': return r.f64();
    case 'fixed32': return new DataView(r.take(4).slice().buffer).getUint32(0, true);
    case 'fixed64': return signed(new DataView(r.take(8).slice().buffer).getBigUint64(0, true), 64, true);
    case 'bool': return r.varint() !== 0;
    case 'int64': return signed(r.varint(), 64);
    case 'uint64': return signed(r.varint(), 64, true);
    case 'uint32': return Number(BigInt.asUintN(32, BigInt(r.varint())));
    default: { const v = r.varint(); return typeof v === 'number' && v < 2 ** 31 ? v : Number(BigInt.asIntN(32, BigInt(v))); } // int32, enum
  }
}

const WIRE: Record<string, number> = { double: 1, fixed64: 1, float: 5, fixed32: 5, string: 2, bytes: 2 };
const wireOf = (f: FieldSpec) => (typeof f.type === 'object' ? 2 : WIRE[f.type] ?? 0);

export function decodeMessage(schema: Schema, typeName: string, buf: Uint8Array, start = 0, end = buf.length): Message {
  const spec = schema.get(typeName);
  if (!spec) throw new ProtoError(`no message type ${typeName}`);
  const out = Object.create(prototypeOf(spec)) as Message;
  for (const f of spec.fields) if (f.repeated) out[f.name] = [];
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const fieldStart = r.pos;
    const key = Number(r.varint());
    const number = Math.floor(key / 8), wire = key & 7;
    const f = spec.byNumber.get(number);
    if (!f || (wireOf(f) !== wire && !(f.repeated && wire === 2))) { skip(r, wire); ((out[UNKNOWN] ??= []) as Uint8Array[]).push(buf.subarray(fieldStart, r.pos)); continue; }
    if (typeof f.type === 'object') {
      const len = Number(r.varint());
      const at = r.pos;
      r.take(len);
      const value = decodeMessage(schema, f.type.message, buf, at, at + len);
      if (f.repeated) (out[f.name] as unknown[]).push(value); else out[f.name] = value;
    } else if (f.type === 'string' || f.type === 'bytes') {
      const bytes = r.take(Number(r.varint()));
      const value = f.type === 'string' ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
      if (f.repeated) (out[f.name] as unknown[]).push(value); else out[f.name] = value;
    } else if (f.repeated && wire === 2) {
      const packedLength = Number(r.varint()); // read before r.pos: the length moves it
      const packedEnd = r.pos + packedLength;
      const inner = new Reader(buf, r.pos, packedEnd);
      const list = out[f.name] as unknown[];
      while (inner.pos < packedEnd) list.push(scalar(inner, f));
      r.take(packedEnd - r.pos);
    } else if (f.repeated) (out[f.name] as unknown[]).push(scalar(r, f));
    else out[f.name] = scalar(r, f);
  }
  return out;
}

function skip(r: Reader, wire: number): void {
  if (wire === 0) r.varint();
  else if (wire === 1) r.take(8);
  else if (wire === 2) r.take(Number(r.varint()));
  else if (wire === 5) r.take(4);
  else throw new ProtoError(`wire type ${wire} not supported`);
}

class Writer {
  private chunks: Uint8Array[] = [];
  private bytes: number[] = [];
  length = 0;
  varint(v: Int64Like | boolean): void {
    let big = typeof v === 'boolean' ? (v ? 1n : 0n) : typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(Math.trunc(v)) : v.value ?? BigInt(v.toNumber());
    big = BigInt.asUintN(64, big);
    do { let b = Number(big & 0x7fn); big >>= 7n; if (big) b |= 0x80; this.byte(b); } while (big);
  }
  byte(b: number): void { this.bytes.push(b); this.length++; }
  raw(data: Uint8Array): void { this.flush(); this.chunks.push(data); this.length += data.length; }
  private flush(): void { if (this.bytes.length) { this.chunks.push(Uint8Array.from(this.bytes)); this.bytes = []; } }
  fixed(size: 4 | 8, write: (dv: DataView) => void): void { const b = new Uint8Array(size); write(new DataView(b.buffer)); this.raw(b); }
  finish(): Uint8Array { this.flush(); return Buffer.concat(this.chunks, this.length); }
}

function writeScalar(w: Writer, f: FieldSpec, v: unknown): void {
  switch (f.type) {
    case 'float': return w.fixed(4, (d) => d.setFloat32(0, Number(v), true));
    case 'double': return w.fixed(8, (d) => d.setFloat64(0, Number(v), true));
    case 'fixed32': return w.fixed(4, (d) => d.setUint32(0, Number(v), true));
    case 'fixed64': return w.fixed(8, (d) => d.setBigUint64(0, BigInt.asUintN(64, toBig(v as Int64Like)), true));
    default: return w.varint(v as Int64Like | boolean);
  }
}
const toBig = (v: Int64Like): bigint => (typeof v === 'bigint' ? v : typeof v === 'number' ? BigInt(Math.trunc(v)) : v.value ?? BigInt(v.toNumber()));

export function encodeMessage(schema: Schema, typeName: string, msg: Message): Uint8Array {
  const w = new Writer();
  writeMessage(schema, typeName, msg, w);
  return w.finish();
}

function writeMessage(schema: Schema, typeName: string, msg: Message, w: Writer): void {
  const spec = schema.get(typeName);
  if (!spec) throw new ProtoError(`no message type ${typeName}`);
  for (const f of spec.fields) {
    // Own properties only, as protobufjs: a default read through the prototype is not written.
    if (!Object.prototype.hasOwnProperty.call(msg, f.name)) continue;
    const v = msg[f.name];
    if (v === null || v === undefined) continue;
    const values = f.repeated ? (v as unknown[]) : [v];
    if (f.repeated && values.length === 0) continue;
    if (f.packed && typeof f.type !== 'object' && f.type !== 'string' && f.type !== 'bytes') {
      let body: Uint8Array;
      if (f.type === 'float') body = new Uint8Array(Float32Array.from(values as number[]).buffer); // little-endian hosts only, as ORT
      else {
        const inner = new Writer();
        for (const x of values) writeScalar(inner, f, x);
        body = inner.finish();
      }
      w.varint(f.number * 8 + 2);
      w.varint(body.length);
      w.raw(body);
      continue;
    }
    for (const x of values) {
      w.varint(f.number * 8 + wireOf(f));
      if (typeof f.type === 'object') {
        const inner = new Writer();
        writeMessage(schema, f.type.message, x as Message, inner);
        const body = inner.finish();
        w.varint(body.length);
        w.raw(body);
      } else if (f.type === 'string' || f.type === 'bytes') {
        const body = typeof x === 'string' ? Buffer.from(x, 'utf8') : (x as Uint8Array);
        w.varint(body.length);
        w.raw(body);
      } else writeScalar(w, f, x);
    }
  }
  for (const raw of (msg[UNKNOWN] as Uint8Array[] | undefined) ?? []) w.raw(raw);
}
