// Fetching an offered bundle into a staging folder, file by file, a window of chunks at a
// time. Each file grows as `<file>.part` and is only ever a prefix of the real file
// (chunks that arrive early wait in memory), so after a kill the download resumes from
// the bytes on disk; a finished file is checked against the offer's sha256 and renamed.
// A file that fails its hash is fetched again from zero: a restart, never a bad bundle.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChunkHeader, ChunkRequest, Offer, OfferFile, offerBytes } from './offer';

export interface ChunkTransport {
  /** Ask for a chunk; the answer comes back through Download.receive(). */
  request(req: ChunkRequest): void;
}

export interface DownloadOptions {
  /** Chunks requested and not yet written, at most. */
  window?: number;
  /** No chunk for this long: ask again for everything outstanding. */
  retryMs?: number;
}

export interface DownloadProgress { bytes: number; total: number; resumedFrom: number; retries: number; restartedFiles: number }

export class DownloadError extends Error {
  constructor(message: string) { super(message); this.name = 'DownloadError'; }
}

async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const sizeOf = (file: string) => { try { return fs.statSync(file).size; } catch { return -1; } };

export class Download extends EventEmitter {
  private file: OfferFile | null = null;
  private fd: number | null = null;
  private written = 0;
  private requestedTo = 0;
  private readonly early = new Map<number, Buffer>();
  private timer: NodeJS.Timeout | null = null;
  private lastProgress = Date.now();
  private settle: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private cancelled = false;
  private readonly stats: DownloadProgress;
  private readonly window: number;
  private readonly retryMs: number;

  constructor(readonly offer: Offer, readonly dir: string, private readonly transport: ChunkTransport, opts: DownloadOptions = {}) {
    super();
    this.window = opts.window ?? 8;
    this.retryMs = opts.retryMs ?? 5000;
    this.stats = { bytes: 0, total: offerBytes(offer), resumedFrom: 0, retries: 0, restartedFiles: 0 };
  }

  progress(): DownloadProgress { return { ...this.stats }; }

  /** Resolves when every file is in place with the offered sha256; rejects on cancel or a refusal. */
  async run(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    let resumed = 0;
    for (const f of this.offer.files) {
      const done = this.target(f);
      if (sizeOf(done) === f.size && await hashFile(done) === f.sha256) { resumed += f.size; continue; }
      const part = sizeOf(`${done}.part`);
      if (part > 0 && part <= f.size) resumed += part;
    }
    this.stats.resumedFrom = resumed;
    this.stats.bytes = resumed;
    this.emit('progress', this.progress());
    this.timer = setInterval(() => this.checkStalled(), Math.max(100, this.retryMs / 4));
    this.timer.unref();
    try {
      for (const f of this.offer.files) {
        if (this.cancelled) throw new DownloadError('cancelled');
        await this.fetchFile(f);
      }
    } finally {
      this.stop();
    }
  }

  private target(f: OfferFile): string { return path.join(this.dir, f.path); }

  private async fetchFile(f: OfferFile): Promise<void> {
    const done = this.target(f);
    if (sizeOf(done) === f.size && await hashFile(done) === f.sha256) return;
    fs.mkdirSync(path.dirname(done), { recursive: true });
    const part = `${done}.part`;
    let have = sizeOf(part);
    if (have > f.size) { fs.rmSync(part); have = 0; }
    if (have < f.size) {
      this.fd = fs.openSync(part, have > 0 ? 'r+' : 'w');
      this.file = f;
      this.written = Math.max(0, have);
      this.requestedTo = this.written;
      this.early.clear();
      this.lastProgress = Date.now();
      await new Promise<void>((resolve, reject) => {
        this.settle = { resolve, reject };
        this.pump();
      });
    }
    if (await hashFile(part) !== f.sha256) {
      // A torn or altered transfer: this file starts again from nothing.
      fs.rmSync(part, { force: true });
      this.stats.bytes -= f.size;
      this.stats.restartedFiles++;
      this.emit('restart-file', f.path);
      if (this.stats.restartedFiles > 3 * this.offer.files.length) throw new DownloadError(`${f.path} keeps arriving with the wrong sha256`);
      return this.fetchFile(f);
    }
    fs.renameSync(part, done);
  }

  private pump(): void {
    const f = this.file;
    if (!f || this.cancelled) return;
    if (this.written >= f.size) { this.finishFile(); return; }
    const chunk = this.offer.chunkSize;
    while (this.requestedTo < f.size && this.requestedTo - this.written < this.window * chunk) {
      const length = Math.min(chunk, f.size - this.requestedTo);
      this.transport.request({ modelId: this.offer.modelId, file: f.path, offset: this.requestedTo, length });
      this.requestedTo += length;
    }
  }

  private finishFile(): void {
    if (this.fd !== null) { fs.fsyncSync(this.fd); fs.closeSync(this.fd); }
    this.fd = null;
    this.file = null;
    const s = this.settle;
    this.settle = null;
    s?.resolve();
  }

  /** A chunk (or a refusal) from the transport. Chunks for another file or offset are ignored. */
  receive(header: ChunkHeader, data: Buffer): void {
    const f = this.file;
    if (!f || header.modelId !== this.offer.modelId || header.file !== f.path) return;
    if (header.error) { this.fail(new DownloadError(`the publisher refused ${f.path}: ${header.error}`)); return; }
    if (header.offset < this.written || header.offset >= this.requestedTo || header.offset + data.length > f.size) return;
    this.early.set(header.offset, data);
    let next = this.early.get(this.written);
    while (next && this.fd !== null) {
      this.early.delete(this.written);
      fs.writeSync(this.fd, next, 0, next.length, this.written);
      this.written += next.length;
      this.stats.bytes += next.length;
      next = this.early.get(this.written);
    }
    this.lastProgress = Date.now();
    this.emit('progress', this.progress());
    this.pump();
  }

  private checkStalled(): void {
    if (!this.file || Date.now() - this.lastProgress < this.retryMs) return;
    // Lost requests or chunks (a broker restart, a publisher that came back): ask again.
    this.stats.retries++;
    this.lastProgress = Date.now();
    this.early.clear();
    this.requestedTo = this.written;
    this.pump();
  }

  private fail(err: Error): void {
    const s = this.settle;
    this.settle = null;
    this.stop();
    s?.reject(err);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.fd !== null) { try { fs.closeSync(this.fd); } catch { /* already closed */ } }
    this.fd = null;
  }

  /** Stops; the bytes on disk stay for a later resume. */
  cancel(): void {
    this.cancelled = true;
    this.file = null;
    this.fail(new DownloadError('cancelled'));
  }
}

/** A transport that fetches from the offer's URL with HTTP Range requests (a server on the local network). */
export function httpTransport(base: string, deliver: (h: ChunkHeader, d: Buffer) => void): ChunkTransport {
  return {
    request(req) {
      const url = new URL(req.file, base.endsWith('/') ? base : `${base}/`);
      fetch(url, { headers: { range: `bytes=${req.offset}-${req.offset + req.length - 1}` }, signal: AbortSignal.timeout(30_000) })
        .then(async (res) => {
          if (res.status !== 206 && !(res.status === 200 && req.offset === 0)) throw new Error(`HTTP ${res.status}`);
          const body = Buffer.from(await res.arrayBuffer());
          deliver({ modelId: req.modelId, file: req.file, offset: req.offset }, body.subarray(0, req.length));
        })
        .catch(() => undefined); // the stall timer asks again
    },
  };
}
