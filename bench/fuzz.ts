/**
 * Mutation fuzzer for decodeFrame and decodeSymbols, seeded from test/vectors.
 * `node dist/bench/fuzz.js --count 1000000 [--seed N]` prints a JSON report and exits 1
 * if any input raised something other than WireError/CodecError, or broke an invariant
 * (an accepted frame or stream must re-encode to exactly the input bytes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../lib/seeded-random';
import { CodecError, CoderTables, buildCoderTables, decodeSymbols, encodeSymbols } from '../lib/codec';
import { WireError, crc32c, decodeBatch, decodeFrame, encodeBatch, encodeFrame } from '../lib/wire';

export const VECTOR_DIR = path.resolve(__dirname, '../../test/vectors');

interface StreamSeed {
  tables: string;
  clamp: { min: number; max: number };
  shape: number[];
  bytes: Uint8Array;
}
interface Corpus {
  frames: Uint8Array[];
  streams: StreamSeed[];
  tables: Record<string, CoderTables>;
}
export interface FuzzFailure {
  target: 'frame' | 'stream' | 'batch';
  hex: string;
  shape?: readonly number[];
  tables?: string;
  clamp?: { min: number; max: number };
  error: string;
}
export interface FuzzReport {
  ok: boolean;
  inputs: number;
  frameInputs: number;
  streamInputs: number;
  typedErrors: number;
  accepted: number;
  uncaught: number;
  invariantViolations: number;
  slowestMs: number;
  /** Inputs that took more than 100 ms the first time (a pause counts too). */
  slowInputs: number;
  /** The slowest input, timed again (best of 5): a decoder must not be made to spin. */
  slowestRetimedMs: number;
  slowest?: FuzzFailure;
  seconds: number;
  seed: number;
  errorCodes: Record<string, number>;
  failures: FuzzFailure[];
}

const hexBytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

export function loadCorpus(dir = VECTOR_DIR): Corpus {
  const read = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  const wire = read('wire-frames.json');
  const codec = read('codec.json');
  const tables: Record<string, CoderTables> = {};
  for (const [name, spec] of Object.entries(codec.tableSets)) tables[name] = buildCoderTables(spec as never);
  const streams: StreamSeed[] = [...codec.streams, ...codec.streamRejects].map((s: StreamSeed & { hex: string }) => ({
    tables: s.tables,
    clamp: s.clamp,
    shape: s.shape,
    bytes: hexBytes(s.hex),
  }));
  const frames = wire.cases.map((c: { hex: string }) => hexBytes(c.hex));
  return { frames, streams, tables };
}

/** mulberry32 (lib/seeded-random), under the name the fuzzers and benches use. */
export const prng = seededRandom;

const INTERESTING = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x100000, 0x100001, 0x7fffffff, 0x80000000, 0xffffffff];

class Mutator {
  constructor(private readonly rnd: () => number, private readonly pool: Uint8Array[]) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  randomBytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  /** One random edit; the input is never modified. */
  mutate(b: Uint8Array): Uint8Array {
    const n = b.length;
    const at = this.int(n + 1);
    const out = Uint8Array.from(b);
    switch (this.int(10)) {
      case 0: // bit flip
        if (n) out[this.int(n)] ^= 1 << this.int(8);
        return out;
      case 1: // byte set
        if (n) out[this.int(n)] = this.rnd() < 0.5 ? this.int(256) : this.pick([0, 1, 0x7f, 0x80, 0xff]);
        return out;
      case 2: // truncate
        return out.subarray(0, this.int(n + 1));
      case 3: // append
        return concat(out, this.randomBytes(1 + this.int(16)));
      case 4: // splice with another seed
        const other = this.pick(this.pool);
        return concat(out.subarray(0, at), other.subarray(this.int(other.length + 1)));
      case 5: // insert
        return concat(out.subarray(0, at), this.randomBytes(1 + this.int(8)), out.subarray(at));
      case 6: // delete a range
        return concat(out.subarray(0, at), out.subarray(Math.min(n, at + 1 + this.int(8))));
      case 7: // duplicate a range
        return concat(out.subarray(0, at), out.subarray(at, at + 1 + this.int(16)), out.subarray(at));
      case 8: // an interesting u16/u32 anywhere: random lengths
        return this.writeInt(out, this.int(Math.max(1, n)), this.pick([2, 4]), this.pick([...INTERESTING, n, n + 1, n - 1]));
      default: // a length field of the frame layout
        return this.mutateFrameLength(out);
    }
  }
  private writeInt(b: Uint8Array, at: number, size: number, value: number): Uint8Array {
    for (let i = 0; i < size && at + i < b.length; i++) b[at + i] = Math.floor(value / 256 ** i) & 0xff;
    return b;
  }
  /** Gateway length, ndim, a dim or the payload length, at their offsets in this frame. */
  private mutateFrameLength(b: Uint8Array): Uint8Array {
    if (b.length < 32) return b;
    const gw = b[30];
    const ndimAt = 31 + gw;
    const ndim = b[ndimAt] ?? 0;
    const payloadLengthAt = ndimAt + 1 + 2 * ndim;
    const targets: Array<[number, number]> = [[30, 1], [ndimAt, 1], [payloadLengthAt, 4]];
    for (let d = 0; d < ndim; d++) targets.push([ndimAt + 1 + 2 * d, 2]);
    const [at, size] = this.pick(targets);
    const value = this.rnd() < 0.5 ? this.pick(INTERESTING) : this.int(2 ** (8 * size));
    return this.writeInt(b, at, size, value);
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function fixCrc(b: Uint8Array): Uint8Array {
  if (b.length >= 4) Buffer.from(b.buffer, b.byteOffset, b.length).writeUInt32LE(crc32c(b.subarray(0, b.length - 4)), b.length - 4);
  return b;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** Tables a decoded features frame can be checked against: the first set with its channel count. */
function tablesFor(corpus: Corpus, channels: number): string | undefined {
  return Object.keys(corpus.tables).find((name) => corpus.tables[name].channels.length === channels);
}

/** One generated input: a frame for decodeFrame, or a stream for decodeSymbols. */
interface FuzzInput {
  /** batch: a batch of corpus frames, mutated, for decodeBatch and then each frame's decodeFrame */
  target: 'frame' | 'stream' | 'batch';
  bytes: Uint8Array;
  limits?: { maxPayloadBytes: number; maxSymbols: number };
  shape?: readonly number[];
  tables?: string;
  clamp?: { min: number; max: number };
}
type Outcome = { kind: 'accepted' } | { kind: 'typed'; code: string } | { kind: 'uncaught' | 'violation'; error: string; input: FuzzInput };

function generate(rnd: () => number, mut: Mutator, corpus: Corpus): FuzzInput {
  if (rnd() < 0.1) {
    const frames = Array.from({ length: 1 + mut.int(4) }, () => mut.pick(corpus.frames));
    let bytes: Uint8Array = encodeBatch(frames, rnd() < 0.5 ? 'never' : 'always');
    for (let m = mut.int(3); m > 0; m--) bytes = mut.mutate(bytes);
    return { target: 'batch', bytes };
  }
  if (rnd() < 0.6) {
    let bytes = mut.pick(corpus.frames);
    for (let m = 1 + mut.int(3); m > 0; m--) bytes = mut.mutate(bytes);
    if (rnd() < 0.5) bytes = fixCrc(bytes); // so the checks after the CRC get exercised
    return { target: 'frame', bytes, limits: rnd() < 0.1 ? { maxPayloadBytes: 64, maxSymbols: 64 } : undefined };
  }
  const s = mut.pick(corpus.streams);
  let bytes = s.bytes;
  for (let m = 1 + mut.int(3); m > 0; m--) bytes = mut.mutate(bytes);
  const shape = rnd() < 0.2 ? s.shape.map((d) => Math.max(0, d + mut.int(3) - 1)) : s.shape;
  const clamp = rnd() < 0.1 ? { min: s.clamp.min + mut.int(3) - 1, max: s.clamp.max + mut.int(3) - 1 } : s.clamp;
  return { target: 'stream', bytes, shape, tables: s.tables, clamp };
}

/** Runs one input; an accepted frame or stream must re-encode to exactly its bytes. */
function evaluate(input: FuzzInput, corpus: Corpus): Outcome {
  let stage = input;
  try {
    if (input.target === 'batch') {
      const frames = decodeBatch(input.bytes);
      if (!(input.bytes[3] & 1) && !sameBytes(encodeBatch(frames, 'never'), input.bytes)) {
        return { kind: 'violation', error: 'accepted batch does not re-encode to its bytes', input };
      }
      for (const f of frames) decodeFrame(f);
      return { kind: 'accepted' };
    }
    if (input.target === 'frame') {
      const frame = decodeFrame(input.bytes, input.limits);
      if (!sameBytes(encodeFrame(frame, { maxPayloadBytes: 2 ** 32 - 1, maxSymbols: 2 ** 32 - 1 }), input.bytes)) {
        return { kind: 'violation', error: 'accepted frame does not re-encode to its bytes', input };
      }
      const tables = frame.kind === 'features' && frame.shape.reduce((a, d) => a * d, 1) <= 4096 ? tablesFor(corpus, frame.shape[0]) : undefined;
      if (tables === undefined) return { kind: 'accepted' };
      stage = { target: 'stream', bytes: frame.payload, shape: frame.shape, tables, clamp: { min: -32, max: 31 } };
    }
    const t = corpus.tables[stage.tables!];
    const symbols = decodeSymbols(stage.bytes, stage.shape!, t, stage.clamp!);
    if (!sameBytes(encodeSymbols(symbols, stage.shape!, t, stage.clamp!), stage.bytes)) {
      return { kind: 'violation', error: 'accepted stream does not re-encode to its bytes', input: stage };
    }
    return { kind: 'accepted' };
  } catch (e) {
    if (e instanceof WireError || e instanceof CodecError) return { kind: 'typed', code: e.code };
    return { kind: 'uncaught', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), input: stage };
  }
}

const asFailure = (input: FuzzInput, error: string): FuzzFailure => ({
  target: input.target,
  hex: Buffer.from(input.bytes).toString('hex'),
  ...(input.target === 'stream' ? { shape: input.shape, tables: input.tables, clamp: input.clamp } : {}),
  error,
});

export function runFuzz(opts: { count: number; seed?: number; corpus?: Corpus }): FuzzReport {
  const seed = opts.seed ?? 1;
  const corpus = opts.corpus ?? loadCorpus();
  const rnd = prng(seed);
  const mut = new Mutator(rnd, [...corpus.frames, ...corpus.streams.map((s) => s.bytes)]);
  const r: FuzzReport = {
    ok: true, inputs: 0, frameInputs: 0, streamInputs: 0, typedErrors: 0, accepted: 0, uncaught: 0,
    invariantViolations: 0, slowestMs: 0, slowestRetimedMs: 0, slowInputs: 0, seconds: 0, seed, errorCodes: {}, failures: [],
  };
  let slowest: FuzzInput | undefined;
  const started = performance.now();
  for (let i = 0; i < opts.count; i++) {
    const input = generate(rnd, mut, corpus);
    const t0 = performance.now();
    const out = evaluate(input, corpus);
    const ms = performance.now() - t0;
    r.inputs++;
    if (input.target !== 'stream') r.frameInputs++;
    else r.streamInputs++;
    if (ms > r.slowestMs) [r.slowestMs, slowest] = [ms, input];
    if (ms > 100) r.slowInputs++;
    if (out.kind === 'accepted') r.accepted++;
    else if (out.kind === 'typed') {
      r.typedErrors++;
      r.errorCodes[out.code] = (r.errorCodes[out.code] ?? 0) + 1;
    } else {
      r[out.kind === 'uncaught' ? 'uncaught' : 'invariantViolations']++;
      if (r.failures.length < 20) r.failures.push(asFailure(out.input, out.error));
    }
  }
  r.seconds = (performance.now() - started) / 1000;
  if (slowest) {
    // A pause (GC, another process) also makes an input slow; timing it again tells them apart.
    r.slowestRetimedMs = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      evaluate(slowest, corpus);
      r.slowestRetimedMs = Math.min(r.slowestRetimedMs, performance.now() - t0);
    }
    r.slowest = asFailure(slowest, '');
  }
  r.ok = r.uncaught === 0 && r.invariantViolations === 0;
  return r;
}

function numberArg(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  const v = at >= 0 ? Number(args[at + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} needs a non-negative integer`);
  return v;
}

export const REGRESSIONS_FILE = path.join(VECTOR_DIR, 'fuzz-regressions.json');

/** Appends new failures to test/vectors/fuzz-regressions.json, so the tests replay them forever. */
export function recordFailures(failures: FuzzFailure[], file = REGRESSIONS_FILE): number {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: FuzzFailure[] };
  const known = new Set(doc.cases.map((c) => `${c.target}:${c.hex}:${String(c.shape)}`));
  const fresh = failures.filter((f) => !known.has(`${f.target}:${f.hex}:${String(f.shape)}`));
  doc.cases.push(...fresh);
  fs.writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
  return fresh.length;
}

/** Entry point for bench/index.ts and the command line: --count N, --seed N, --record. */
export async function run(args: string[]): Promise<FuzzReport> {
  const report = runFuzz({ count: numberArg(args, '--count', 100000), seed: numberArg(args, '--seed', 1) });
  if (args.includes('--record') && report.failures.length > 0) recordFailures(report.failures);
  return report;
}

if (require.main === module) {
  run(process.argv.slice(2)).then((report) => {
    console.log(JSON.stringify(report, null, process.argv.includes('--json') ? undefined : 2));
    if (!report.ok) process.exitCode = 1;
  });
}
