// The samples `split-dnn split --calibrate` reads, in any of the forms a user is likely to
// have: a folder of PNG/JPEG images, a bundle (its sample set), raw uint8 images (the bundle
// sample format), raw float32, or a NumPy .npy array. They become the model's float input; uint8 images are kept too so
// the new bundle can carry them as its own sample set (the demo camera replays it).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadBundle } from '../model/bundle';
import { readSamples } from '../model/samples';
import { preprocessPixels } from '../model/preprocess';
import type { Layout, Manifest } from '../model/manifest';
import { readImageFolder } from './image-folder';

export type InputSection = Manifest['input'];

export interface CalibrationSet {
  /** count × prod(sampleDims) floats: what the model's input takes. */
  inputs: Float32Array;
  count: number;
  labels: Uint8Array | null;
  /** Class indices per sample for any task (multilabel samples have several), or null. */
  labelSets: number[][] | null;
  /** The raw images when the samples were uint8, for the bundle's sample set. */
  pixels: Uint8Array | null;
  /** Preprocessing that turned the pixels into inputs (from the bundle or the options). */
  preprocess: InputSection['preprocess'];
  /** Class names, when the samples came from a bundle. */
  classNames?: string[];
  describe: string;
}

export interface SampleOptions {
  /** The model input's dims without the batch axis. */
  sampleDims: number[];
  /** How uint8 samples become floats: x = (pixel * scale - mean[c]) / std[c]. */
  preprocess: InputSection['preprocess'];
  /** A labels file (.u8 one byte per sample, or .npy of integers); default labels.u8 beside a .u8 file. */
  labelsFile?: string;
  /** Use at most this many samples. */
  limit?: number;
  /** The model input's layout (uint8 frames are C×H×W; floats are in this layout). */
  layout?: Layout;
  /** uint8 frame shape and colour order, when the input is an image (default from sampleDims). */
  frame?: InputSection['source'];
  color?: InputSection['color'];
  /** Class names, to read labels given by name. */
  classNames?: string[];
}

export class SampleError extends Error {
  constructor(message: string) { super(message); this.name = 'SampleError'; }
}

/** The manifest `input.source` that pixel payloads of these dims have (channel-major). */
export function sourceFor(sampleDims: number[]): InputSection['source'] {
  if (sampleDims.length === 3) return { channels: sampleDims[0], height: sampleDims[1], width: sampleDims[2], dtype: 'uint8' };
  return { channels: 1, height: 1, width: sampleDims.reduce((a, b) => a * b, 1), dtype: 'uint8' };
}

interface NpyArray { dtype: 'f4' | 'u1' | 'i8' | 'i4'; shape: number[]; data: Uint8Array }

/** A .npy file (format 1.0–3.0, C order, little-endian float32 / uint8 / int32 / int64). */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const magic = Buffer.from(bytes.subarray(0, 6)).toString('latin1');
  if (magic !== '\x93NUMPY') throw new SampleError(`${file} is not a .npy file`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([<|=]?)([a-z]\d)'/.exec(header);
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape || fortran || !['f4', 'u1', 'i8', 'i4'].includes(descr[2])) {
    throw new SampleError(`${file}: only C-order little-endian float32, uint8, int32 or int64 arrays are read (header ${header.trim()})`);
  }
  const dims = shape[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { dtype: descr[2] as NpyArray['dtype'], shape: dims, data: bytes.subarray(start + headerLen) };
}

function floatsOf(data: Uint8Array): Float32Array {
  const copy = new Uint8Array(data); // aligned copy
  return new Float32Array(copy.buffer, 0, copy.length >> 2);
}

async function readLabels(file: string, count: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await fs.readFile(file).catch(() => { throw new SampleError(`labels file ${file} does not exist`); }));
  let labels: Uint8Array;
  if (file.endsWith('.npy')) {
    const a = parseNpy(bytes, file);
    const width = a.dtype === 'i8' ? 8 : a.dtype === 'i4' ? 4 : 1;
    if (a.dtype === 'f4') throw new SampleError(`${file}: labels must be integers`);
    labels = new Uint8Array(a.data.length / width);
    const view = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    for (let i = 0; i < labels.length; i++) labels[i] = width === 8 ? Number(view.getBigInt64(i * 8, true)) : width === 4 ? view.getInt32(i * 4, true) : a.data[i];
  } else {
    labels = bytes;
  }
  if (labels.length < count) throw new SampleError(`${file} holds ${labels.length} labels for ${count} samples`);
  return labels.subarray(0, count);
}

/** Reads the calibration samples at `where` (a bundle folder, .u8, .f32 or .npy). */
export async function readCalibrationSet(where: string, opts: SampleOptions): Promise<CalibrationSet> {
  const per = opts.sampleDims.reduce((a, b) => a * b, 1);
  const stat = await fs.stat(where).catch(() => null);
  if (!stat) throw new SampleError(`calibration samples ${where} do not exist`);
  let sets: number[][] | null = null;
  const fromPixels = async (pixels: Uint8Array, labels: Uint8Array | null, preprocess: InputSection['preprocess'], describe: string, classNames?: string[]): Promise<CalibrationSet> => {
    if (pixels.length % per !== 0) throw new SampleError(`${where}: ${pixels.length} bytes is not a whole number of ${per}-value samples [${opts.sampleDims}]`);
    const count = Math.min(pixels.length / per, opts.limit ?? Infinity);
    const source = opts.frame ?? sourceFor(opts.sampleDims);
    if (preprocess.mean.length !== source.channels || preprocess.std.length !== source.channels) {
      throw new SampleError(`--mean and --std need ${source.channels} value(s), one per input channel`);
    }
    const kept = pixels.subarray(0, count * per);
    const inputs = preprocessPixels({ input: { source, preprocess, layout: opts.layout } } as Manifest, kept, count);
    const kept8 = labels?.subarray(0, count) ?? null;
    return { inputs, count, labels: kept8, labelSets: sets ?? (kept8 ? Array.from(kept8, (l) => [l]) : null), pixels: kept, preprocess, describe, classNames };
  };

  if (stat.isDirectory() && !(await fs.stat(path.join(where, 'manifest.json')).catch(() => null))) {
    const frame = opts.frame ?? sourceFor(opts.sampleDims);
    const m = { input: { source: frame, preprocess: opts.preprocess, color: opts.color, layout: opts.layout } } as Manifest;
    const folder = await readImageFolder(where, m, { limit: opts.limit, labelsFile: opts.labelsFile, classNames: opts.classNames });
    sets = folder.labels;
    const single = sets?.every((l) => l.length === 1 && l[0] < 256) ? Uint8Array.from(sets, (l) => l[0]) : null;
    return fromPixels(folder.frames, single, opts.preprocess, `${folder.count} images from ${where}`, folder.classNames);
  }
  if (stat.isDirectory()) {
    const bundle = await loadBundle(where).catch((err: Error) => { throw new SampleError(`${where} is a folder but not a bundle with a sample set: ${err.message}`); });
    if (!bundle.manifest.samples) throw new SampleError(`bundle ${where} has no sample set`);
    const set = await readSamples(bundle);
    return fromPixels(set.images, set.labels, bundle.manifest.input.preprocess, `${set.count} samples of bundle ${bundle.manifest.name}`, bundle.manifest.labels);
  }
  const bytes = new Uint8Array(await fs.readFile(where));
  const labelsFile = opts.labelsFile ?? (where.endsWith('.u8') ? path.join(path.dirname(where), 'labels.u8') : undefined);
  const hasLabels = labelsFile !== undefined && (opts.labelsFile !== undefined || (await fs.stat(labelsFile).catch(() => null)) !== null) && labelsFile !== where;
  let floats: Float32Array | null = null;
  let pixels: Uint8Array | null = null;
  if (where.endsWith('.npy')) {
    const a = parseNpy(bytes, where);
    if (a.dtype === 'f4') floats = floatsOf(a.data);
    else if (a.dtype === 'u1') pixels = a.data;
    else throw new SampleError(`${where}: samples must be float32 or uint8, not ${a.dtype}`);
  } else if (where.endsWith('.f32')) {
    floats = floatsOf(bytes);
  } else if (where.endsWith('.u8')) {
    pixels = bytes;
  } else {
    throw new SampleError(`${where}: calibration samples must be a bundle folder, .u8 (uint8 images), .f32 (raw float32) or .npy`);
  }
  if (pixels) {
    const count = Math.floor(pixels.length / per);
    const labels = hasLabels ? await readLabels(labelsFile!, Math.min(count, opts.limit ?? Infinity)) : null;
    return fromPixels(pixels, labels, opts.preprocess, `${Math.min(count, opts.limit ?? Infinity)} uint8 samples from ${where}`);
  }
  if (floats!.length % per !== 0) throw new SampleError(`${where}: ${floats!.length} floats is not a whole number of ${per}-value samples [${opts.sampleDims}]`);
  const count = Math.min(floats!.length / per, opts.limit ?? Infinity);
  const labels = hasLabels ? await readLabels(labelsFile!, count) : null;
  return { inputs: floats!.subarray(0, count * per), count, labels, labelSets: labels ? Array.from(labels, (l) => [l]) : null, pixels: null, preprocess: opts.preprocess, describe: `${count} float32 samples from ${where}` };
}
