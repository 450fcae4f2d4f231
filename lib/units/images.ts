// A folder of unlabeled images → a deterministic train / validation / test split and the
// frames the bundle's input takes (lib/model/image-input: resize, colour, input.source size).
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { decodeImage, imageToFrame } from '../model/image-input';
import type { Manifest } from '../model/manifest';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Image files under `dir` (subfolders too), as sorted '/'-separated relative paths. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(child);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(child);
    }
  };
  await walk('');
  return out.sort();
}

export interface ImageSplit {
  train: string[]; val: string[]; test: string[];
  /** What goes into the manifest: how the split was made, and what it holds. */
  record: { rule: string; seed: number; fractions: { val: number; test: number }; counts: Record<'train' | 'val' | 'test', number>; sha256: Record<'train' | 'val' | 'test', string> };
}

/**
 * Each file goes to test, validation or train by a hash of its path and the seed, so the
 * split does not depend on the order files are listed in, and adding images to the folder
 * never moves an existing image into another set.
 */
export function splitImages(files: string[], fractions: { val: number; test: number }, seed = 0): ImageSplit {
  const sets = { train: [] as string[], val: [] as string[], test: [] as string[] };
  for (const f of files) {
    const u = createHash('sha256').update(`${seed}:${f}`).digest().readUInt32BE(0) / 2 ** 32;
    (u < fractions.test ? sets.test : u < fractions.test + fractions.val ? sets.val : sets.train).push(f);
  }
  const digest = (list: string[]) => createHash('sha256').update(list.join('\n')).digest('hex');
  return {
    ...sets,
    record: {
      rule: 'sha256("<seed>:<relative path>") first 4 bytes / 2^32: below test → test, below test+val → validation, else train',
      seed, fractions,
      counts: { train: sets.train.length, val: sets.val.length, test: sets.test.length },
      sha256: { train: digest(sets.train), val: digest(sets.val), test: digest(sets.test) },
    },
  };
}

/** Decodes `files` into one buffer of n frames in the bundle's frame format (lib/model/image-input:
 *  the manifest's resize, colour order; uint8, channel-major, input.source size). */
export async function readFrames(m: Manifest, dir: string, files: string[], onFile?: (i: number) => void): Promise<Uint8Array> {
  const s = m.input.source;
  const per = s.channels * s.height * s.width;
  const out = new Uint8Array(files.length * per);
  for (let i = 0; i < files.length; i++) {
    const pic = decodeImage(await fs.readFile(path.join(dir, files[i])), files[i]);
    out.set(imageToFrame(m, pic), i * per);
    onFile?.(i);
  }
  return out;
}
