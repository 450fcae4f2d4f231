// Loading a model bundle from disk: the manifest plus every file it lists, each checked
// against its sha256 so a gateway never runs (or a tail never decodes with) a model that
// differs from the one the manifest describes.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Manifest, parseManifest } from './manifest';

export type BundleErrorCode = 'NO_MANIFEST' | 'MISSING_FILE' | 'HASH_MISMATCH' | 'UNLISTED_FILE' | 'BAD_PATH';

export class BundleError extends Error {
  constructor(readonly code: BundleErrorCode, message: string, readonly file?: string) {
    super(message);
    this.name = 'BundleError';
  }
}

export interface Bundle {
  dir: string;
  manifest: Manifest;
  /** First 8 bytes of sha256(manifest.json), hex: travels in every wire frame. */
  modelId: string;
  /** Absolute path of a file named in the manifest. */
  file(relative: string): string;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function insideBundle(dir: string, relative: string): string {
  const full = path.resolve(dir, relative);
  if (!full.startsWith(dir + path.sep)) {
    throw new BundleError('BAD_PATH', `bundle ${dir}: file ${relative} points outside the bundle`, relative);
  }
  return full;
}

/** Every ONNX file the manifest refers to: these must be listed under `files`. */
function referencedFiles(m: Manifest): string[] {
  const files = [m.head.file, m.tail.file];
  for (const r of m.rates) files.push(r.encoder.file, r.decoder.file);
  if (m.samples) files.push(m.samples.images, m.samples.labels);
  return files;
}

export async function loadBundle(dirArg: string): Promise<Bundle> {
  const dir = path.resolve(dirArg);
  const manifestPath = path.join(dir, 'manifest.json');
  let raw: Buffer;
  try {
    raw = await fs.readFile(manifestPath);
  } catch {
    throw new BundleError('NO_MANIFEST', `bundle ${dir}: no manifest.json (is this a bundle folder?)`, 'manifest.json');
  }
  const manifest = parseManifest(raw.toString('utf8'));
  for (const ref of referencedFiles(manifest)) {
    if (!(ref in manifest.files)) {
      throw new BundleError('UNLISTED_FILE', `bundle ${dir}: ${ref} is used but has no sha256 under "files"`, ref);
    }
  }
  await Promise.all(Object.entries(manifest.files).map(async ([relative, expected]) => {
    const full = insideBundle(dir, relative);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(full);
    } catch {
      throw new BundleError('MISSING_FILE', `bundle ${dir}: file ${relative} is missing`, relative);
    }
    const actual = sha256(bytes);
    if (actual !== expected.toLowerCase()) {
      throw new BundleError('HASH_MISMATCH',
        `bundle ${dir}: file ${relative} has sha256 ${actual.slice(0, 12)}…, manifest says ${expected.slice(0, 12)}… (altered or corrupted)`, relative);
    }
  }));
  return {
    dir,
    manifest,
    modelId: sha256(raw).slice(0, 16),
    file: (relative: string) => insideBundle(dir, relative),
  };
}
