// The gateway's durable outbox: every accepted frame stays on disk until the cloud
// acknowledges it end to end. An append-only log of put/ack records, each with a
// CRC-32C; on open the log is replayed, and a torn tail (a kill mid-write) is detected,
// cut off and reported, never fatal. Without a folder it keeps frames in memory only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32c } from '../wire/crc32c';

export interface OutboxOptions {
  /** Folder for the log; omit for a memory-only outbox (lost on restart). */
  dir?: string;
  maxFrames?: number;
  maxBytes?: number;
  /** fdatasync the log at most this often (ms); 0 = after every write. Default 200. */
  syncMs?: number;
}

const PUT = 1;
const ACK = 2;
const LOG = 'outbox.log';
const HEADER = 4 + 1 + 1; // record length, type, key length

function record(type: number, key: string, frame?: Uint8Array): Buffer {
  const k = Buffer.from(key, 'utf8');
  if (k.length > 255) throw new Error(`outbox key too long: ${key}`);
  const body = type === PUT ? 4 + frame!.length : 0;
  const out = Buffer.alloc(HEADER + k.length + body + 4);
  out.writeUInt32LE(out.length, 0);
  out[4] = type;
  out[5] = k.length;
  k.copy(out, HEADER);
  if (type === PUT) {
    out.writeUInt32LE(frame!.length, HEADER + k.length);
    out.set(frame!, HEADER + k.length + 4);
  }
  out.writeUInt32LE(crc32c(out.subarray(0, out.length - 4)), out.length - 4);
  return out;
}

/** Replays a log; stops at the first record that is incomplete or fails its CRC. */
function replay(bytes: Buffer, into: Map<string, Buffer>): number {
  let at = 0;
  while (at + HEADER + 4 <= bytes.length) {
    const len = bytes.readUInt32LE(at);
    if (len < HEADER + 4 || at + len > bytes.length) break;
    const rec = bytes.subarray(at, at + len);
    if (crc32c(rec.subarray(0, len - 4)) !== rec.readUInt32LE(len - 4)) break;
    const keyLen = rec[5];
    const key = rec.toString('utf8', HEADER, HEADER + keyLen);
    if (rec[4] === PUT) {
      const frameLen = rec.readUInt32LE(HEADER + keyLen);
      if (HEADER + keyLen + 4 + frameLen + 4 !== len) break;
      into.set(key, Buffer.from(rec.subarray(HEADER + keyLen + 4, HEADER + keyLen + 4 + frameLen)));
    } else if (rec[4] === ACK) {
      into.delete(key);
    } else {
      break;
    }
    at += len;
  }
  return at;
}

/** The frames a log holds, read without taking it over (for tools, tests, a crashed gateway's folder). */
export function readOutbox(dir: string): { frames: Map<string, Buffer>; tornBytes: number } {
  const file = path.join(dir, LOG);
  const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  const frames = new Map<string, Buffer>();
  return { frames, tornBytes: bytes.length - replay(bytes, frames) };
}

export class Outbox {
  private readonly frames: Map<string, Buffer>;
  private fd: number | null = null;
  private file = '';
  private logBytes = 0;
  private liveBytes = 0;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  /** Frames dropped because the outbox was full (oldest first). */
  dropped = 0;
  /** Bytes of a torn tail found and cut off when the log was opened. */
  readonly recoveredTornBytes: number = 0;
  readonly durable: boolean;
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private readonly syncMs: number;

  constructor(opts: OutboxOptions = {}) {
    this.maxFrames = opts.maxFrames ?? 100_000;
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.syncMs = opts.syncMs ?? 200;
    this.durable = Boolean(opts.dir);
    if (!opts.dir) {
      this.frames = new Map();
      return;
    }
    fs.mkdirSync(opts.dir, { recursive: true });
    const found = readOutbox(opts.dir);
    this.frames = found.frames;
    this.recoveredTornBytes = found.tornBytes;
    for (const f of this.frames.values()) this.liveBytes += f.length;
    // Rewrite on open: drops acked records and any torn tail in one atomic step.
    this.fd = this.rewrite((this.file = path.join(opts.dir, LOG)));
  }

  get size(): number { return this.frames.size; }
  get bytes(): number { return this.liveBytes; }

  has(key: string): boolean { return this.frames.has(key); }

  get(key: string): Buffer | undefined { return this.frames.get(key); }

  /** Oldest first, the order frames are resent in. */
  entries(): IterableIterator<[string, Buffer]> { return this.frames.entries(); }

  /** Accept a frame; returns how many old frames the cap pushed out (usually 0). */
  put(key: string, frame: Buffer): number {
    if (this.frames.has(key)) return 0;
    let evicted = 0;
    while (this.frames.size > 0 && (this.frames.size >= this.maxFrames || this.liveBytes + frame.length > this.maxBytes)) {
      const [oldKey] = this.frames.keys();
      this.remove(oldKey);
      evicted++;
    }
    this.dropped += evicted;
    this.frames.set(key, frame);
    this.liveBytes += frame.length;
    this.append(record(PUT, key, frame));
    return evicted;
  }

  /** The cloud has answered for this frame: forget it. False when it was not pending. */
  ack(key: string): boolean {
    if (!this.frames.has(key)) return false;
    this.remove(key);
    return true;
  }

  private remove(key: string): void {
    this.liveBytes -= this.frames.get(key)!.length;
    this.frames.delete(key);
    this.append(record(ACK, key));
  }

  private append(rec: Buffer): void {
    if (this.fd === null) return;
    fs.writeSync(this.fd, rec);
    this.logBytes += rec.length;
    if (this.syncMs === 0) fs.fdatasyncSync(this.fd);
    else this.scheduleSync();
    // Compact when most of the log is acked history.
    if (this.logBytes > 4 * 1024 * 1024 && this.logBytes > 4 * (this.liveBytes + this.frames.size * 64)) this.compact();
  }

  private scheduleSync(): void {
    this.dirty = true;
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.fd !== null && this.dirty) { this.dirty = false; fs.fdatasync(this.fd, () => undefined); }
    }, this.syncMs);
    this.syncTimer.unref();
  }

  private rewrite(file: string): number {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    let size = 0;
    for (const [key, frame] of this.frames) {
      const rec = record(PUT, key, frame);
      fs.writeSync(fd, rec);
      size += rec.length;
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    this.logBytes = size;
    return fs.openSync(file, 'a');
  }

  private compact(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = this.rewrite(this.file);
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd !== null) {
      fs.fdatasyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = null;
    }
  }
}
