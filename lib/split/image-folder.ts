// A folder of PNG/JPEG images as calibration or held-out samples, turned into the bundle's
// uint8 C×H×W frames by lib/model/image-input (resize, colour order from the manifest).
// Labels, optional: a file of "<image> <label>[,<label>…]" lines (a class name or index),
// or one subfolder per class (the ImageFolder convention).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Manifest } from '../model/manifest';
import { decodeImage, imageToFrame } from '../model/image-input';

const IMAGE = /\.(png|jpe?g)$/i;

export interface ImageFolderSet {
  files: string[];
  /** count × C·H·W uint8, channel-major, in the manifest's colour order. */
  frames: Uint8Array;
  count: number;
  /** Class indices per image (one for a classifier, any number for multilabel), or null. */
  labels: number[][] | null;
  classNames?: string[];
}

export class ImageFolderError extends Error {
  constructor(message: string) { super(message); this.name = 'ImageFolderError'; }
}

async function listImages(dir: string): Promise<{ files: string[]; byFolder: boolean }> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => { throw new ImageFolderError(`image folder ${dir} does not exist`); });
  const top = entries.filter((e) => e.isFile() && IMAGE.test(e.name)).map((e) => e.name);
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const nested: string[] = [];
  for (const f of folders) {
    for (const e of await fs.readdir(path.join(dir, f), { withFileTypes: true })) if (e.isFile() && IMAGE.test(e.name)) nested.push(path.join(f, e.name));
  }
  const files = [...top, ...nested].sort();
  if (!files.length) throw new ImageFolderError(`${dir} holds no .png or .jpg image (nor subfolders of them)`);
  return { files, byFolder: top.length === 0 && nested.length > 0 };
}

function classIndex(label: string, classNames: string[] | undefined, where: string): number {
  const named = classNames?.indexOf(label) ?? -1;
  if (named >= 0) return named;
  if (/^\d+$/.test(label)) return Number(label);
  throw new ImageFolderError(`${where}: label "${label}" is neither a class name${classNames ? ` (${classNames.slice(0, 5).join(', ')}…)` : ''} nor an index`);
}

async function readLabelsFile(file: string, files: string[], classNames: string[] | undefined): Promise<number[][]> {
  const text = await fs.readFile(file, 'utf8').catch(() => { throw new ImageFolderError(`labels file ${file} does not exist`); });
  const byName = new Map<string, number[]>();
  text.split(/\r?\n/).forEach((line, i) => {
    const m = /^\s*(\S+)\s+(.*\S)\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) return;
    byName.set(m[1], m[2].split(',').map((l) => classIndex(l.trim(), classNames, `${file}:${i + 1}`)));
  });
  return files.map((f) => {
    const labels = byName.get(f) ?? byName.get(path.basename(f));
    if (!labels) throw new ImageFolderError(`${file} has no line for image ${f}`);
    return labels;
  });
}

export async function readImageFolder(dir: string, m: Manifest, opts: { limit?: number; labelsFile?: string; classNames?: string[] } = {}): Promise<ImageFolderSet> {
  const listed = await listImages(dir);
  const files = listed.files.slice(0, opts.limit ?? Infinity);
  const s = m.input.source;
  const per = s.channels * s.height * s.width;
  const frames = new Uint8Array(files.length * per);
  for (const [i, f] of files.entries()) {
    const bytes = await fs.readFile(path.join(dir, f));
    let frame: Uint8Array;
    try {
      frame = imageToFrame(m, decodeImage(bytes, f));
    } catch (err) {
      throw new ImageFolderError(`${path.join(dir, f)}: ${(err as Error).message}`);
    }
    frames.set(frame, i * per);
  }
  let labels: number[][] | null = null;
  let classNames = opts.classNames;
  if (opts.labelsFile) labels = await readLabelsFile(opts.labelsFile, files, classNames);
  else if (listed.byFolder) {
    classNames ??= [...new Set(listed.files.map((f) => path.dirname(f)))].sort();
    labels = files.map((f) => [classIndex(path.dirname(f), classNames, dir)]);
  }
  return { files, frames, count: files.length, labels, classNames };
}
