// Camera sources: frames from a folder of images (rescanned when it runs out, so a
// capture tool can keep dropping files in), one image file (re-read on every capture, for
// tools that overwrite a snapshot), a file of raw frames, or a video device / stream read
// through ffmpeg. Every frame comes out converted to the bundle's input shape.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, ChildProcess } from 'node:child_process';
import { decodeImage, rawImage, toFrame, imageKind, ConvertOptions, FrameShape, ImageError, Image, RawFormat } from './image';

export interface Frame { data: Buffer; name: string; index: number }

export interface FrameSource {
  readonly kind: 'folder' | 'image' | 'raw' | 'video';
  /** The next frame, converted. */
  next(): Promise<Frame>;
  close(): Promise<void>;
}

export interface CameraOptions extends ConvertOptions {
  /** Interleaved size of raw input when it is not already the target shape (GRAY8/RGB24 dumps). */
  raw?: RawFormat;
  /** ffmpeg binary for video devices. */
  ffmpeg?: string;
  /** Frames per second asked of a video device. */
  fps?: number;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);
const RAW_EXT = new Set(['.raw', '.gray', '.rgb', '.bin']);

/** Opens what `source` names: a folder, an image, a raw file, a device or a stream URL. */
export function openCamera(source: string, shape: FrameShape, opts: CameraOptions = {}): FrameSource {
  if (!source) throw new ImageError('no camera source given: a folder, an image file, a raw file or a video device such as /dev/video0');
  if (/^[a-z]+:\/\//i.test(source) || source.startsWith('/dev/')) return new VideoSource(source, shape, opts);
  let stat: fs.Stats;
  try { stat = fs.statSync(source); } catch { throw new ImageError(`camera source ${source} does not exist`); }
  if (stat.isDirectory()) return new FolderSource(source, shape, opts);
  if (RAW_EXT.has(path.extname(source).toLowerCase())) return new RawFileSource(source, shape, opts);
  return new ImageFileSource(source, shape, opts);
}

/** One file's bytes → a frame, whether it is a PNG, a JPEG or raw pixels. */
export function fileToFrame(bytes: Uint8Array, name: string, shape: FrameShape, opts: CameraOptions): Buffer {
  let pic: Image;
  if (imageKind(bytes)) pic = decodeImage(bytes, name);
  else if (bytes.length === shape.width * shape.height * shape.channels && !opts.raw) return Buffer.from(bytes); // already the model's input
  else if (opts.raw) pic = rawImage(bytes, opts.raw, name);
  else throw new ImageError(`${name}: not a PNG or JPEG, and its ${bytes.length} bytes are not one ${shape.channels}×${shape.height}×${shape.width} raw frame`);
  return toFrame(pic, shape, opts);
}

class FolderSource implements FrameSource {
  readonly kind = 'folder';
  private files: string[] = [];
  private at = 0;
  private count = 0;

  constructor(private readonly dir: string, private readonly shape: FrameShape, private readonly opts: CameraOptions) {}

  async next(): Promise<Frame> {
    if (this.at >= this.files.length) {
      this.files = (await fs.promises.readdir(this.dir))
        .filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()) || RAW_EXT.has(path.extname(f).toLowerCase()))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      this.at = 0;
      if (!this.files.length) throw new ImageError(`no images in ${this.dir} (looked for .png, .jpg, .jpeg, .raw, .gray, .rgb, .bin)`);
    }
    const name = this.files[this.at++];
    const bytes = await fs.promises.readFile(path.join(this.dir, name));
    return { data: fileToFrame(bytes, name, this.shape, this.opts), name, index: this.count++ };
  }

  async close(): Promise<void> { this.files = []; }
}

class ImageFileSource implements FrameSource {
  readonly kind = 'image';
  private count = 0;
  constructor(private readonly file: string, private readonly shape: FrameShape, private readonly opts: CameraOptions) {}

  async next(): Promise<Frame> {
    const bytes = await fs.promises.readFile(this.file);
    const name = path.basename(this.file);
    return { data: fileToFrame(bytes, name, this.shape, this.opts), name, index: this.count++ };
  }

  async close(): Promise<void> {}
}

/** A file of raw frames back to back (a recording): cycles through them. */
class RawFileSource implements FrameSource {
  readonly kind = 'raw';
  private count = 0;
  private readonly frameBytes: number;
  private readonly frames: number;

  constructor(private readonly file: string, private readonly shape: FrameShape, private readonly opts: CameraOptions) {
    const r = opts.raw;
    this.frameBytes = r ? r.width * r.height * r.channels : shape.width * shape.height * shape.channels;
    const size = fs.statSync(file).size;
    if (size === 0 || size % this.frameBytes) throw new ImageError(`${path.basename(file)}: ${size} bytes is not a whole number of ${this.frameBytes}-byte frames`);
    this.frames = size / this.frameBytes;
  }

  async next(): Promise<Frame> {
    const i = this.count % this.frames;
    const handle = await fs.promises.open(this.file, 'r');
    try {
      const bytes = Buffer.alloc(this.frameBytes);
      await handle.read(bytes, 0, this.frameBytes, i * this.frameBytes);
      const name = `${path.basename(this.file)}#${i}`;
      const data = this.opts.raw ? toFrame(rawImage(bytes, this.opts.raw, name), this.shape, this.opts) : this.opts.invert ? Buffer.from(bytes.map((v) => 255 - v)) : bytes;
      return { data, name, index: this.count++ };
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {}
}

/**
 * A V4L2 device (/dev/video0) or a stream URL through ffmpeg, which scales and crops to the
 * target size; ffmpeg runs while the source is open and `next` takes the newest frame.
 */
export class VideoSource implements FrameSource {
  readonly kind = 'video';
  private proc: ChildProcess | null = null;
  private latest: Buffer | null = null;
  private failure: Error | null = null;
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private count = 0;
  private stderr = '';

  constructor(private readonly source: string, private readonly shape: FrameShape, private readonly opts: CameraOptions) {}

  /** The ffmpeg arguments: device or URL in, `shape`-sized gray or RGB24 frames out on stdout. */
  ffmpegArgs(): string[] {
    const { width: W, height: H, channels } = this.shape;
    const fit = this.opts.fit ?? 'crop';
    const scale = fit === 'stretch' ? `scale=${W}:${H}`
      : fit === 'crop' ? `scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H}`
        : `scale=${W}:${H}:force_original_aspect_ratio=decrease,pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2:color=0x${(this.opts.pad ?? 0).toString(16).padStart(2, '0').repeat(3)}`;
    const input = this.source.startsWith('/dev/video') ? ['-f', 'v4l2', ...(this.opts.fps ? ['-framerate', String(this.opts.fps)] : []), '-i', this.source] : ['-i', this.source];
    return ['-hide_banner', '-loglevel', 'error', ...input, '-vf', scale, '-pix_fmt', channels === 1 ? 'gray' : 'rgb24', '-f', 'rawvideo', 'pipe:1'];
  }

  private start(): void {
    const bin = this.opts.ffmpeg ?? 'ffmpeg';
    const { width: W, height: H, channels } = this.shape;
    const frameBytes = W * H * channels;
    let pending = Buffer.alloc(0);
    const proc = spawn(bin, this.ffmpegArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code === 'ENOENT'
      ? new ImageError(`ffmpeg not found (${bin}): install it (apt-get install ffmpeg) to read ${this.source}, or point the camera at a folder of images`)
      : new ImageError(`cannot run ${bin}: ${err.message}`)));
    proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-400); });
    proc.stdout!.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= frameBytes) {
        const interleaved = pending.subarray(0, frameBytes);
        pending = pending.subarray(frameBytes);
        this.latest = toFrame(rawImage(Buffer.from(interleaved), { width: W, height: H, channels: channels as 1 | 3 }), this.shape, { invert: this.opts.invert, bgr: this.opts.bgr, fit: 'stretch' });
        for (const w of this.waiting.splice(0)) w.resolve();
      }
    });
    proc.on('exit', (code, signal) => {
      if (this.proc !== proc) return;
      this.proc = null;
      this.fail(new ImageError(`ffmpeg stopped reading ${this.source} (${signal ?? `exit ${code}`})${this.stderr ? `: ${this.stderr.trim().split('\n').pop()}` : ''}`));
    });
  }

  private fail(err: Error): void {
    this.failure = err;
    this.latest = null;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  async next(): Promise<Frame> {
    if (!this.proc) { this.failure = null; this.stderr = ''; this.start(); } // (re)start after a failure: a camera plugged back in
    if (!this.latest) {
      await new Promise<void>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        this.waiting.push({ resolve, reject });
      });
    }
    return { data: Buffer.from(this.latest!), name: this.source, index: this.count++ };
  }

  async close(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    this.fail(new ImageError('camera closed'));
    if (proc && proc.exitCode === null) {
      await new Promise<void>((resolve) => { proc.once('exit', () => resolve()); proc.kill('SIGTERM'); setTimeout(resolve, 2000).unref(); });
    }
  }
}
