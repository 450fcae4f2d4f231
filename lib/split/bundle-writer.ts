// Writing a bundle folder: the files, their sha256 under "files", and manifest.json, then
// loading it back through lib/model so a bundle the splitter writes is one the nodes accept.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadBundle, sha256, Bundle } from '../model/bundle';
import type { Manifest } from '../model/manifest';

/** A manifest whose `files` are filled in when it is written. */
export type ManifestDraft = Manifest;

/** Refuses to write into a folder that holds anything unless `force` (then it is emptied). */
export async function prepareOutDir(dir: string, force: boolean): Promise<void> {
  const entries = await fs.readdir(dir).catch(() => null);
  if (entries && entries.length) {
    if (!force) throw new Error(`output folder ${dir} is not empty (pass --force to replace its contents)`);
    if (!entries.includes('manifest.json')) throw new Error(`output folder ${dir} is not empty and is not a bundle: not replacing it`);
    await fs.rm(dir, { recursive: true, force: true });
  }
  await fs.mkdir(dir, { recursive: true });
}

export async function writeBundleFiles(dir: string, files: Record<string, Uint8Array>): Promise<Record<string, string>> {
  const hashes: Record<string, string> = {};
  for (const [relative, bytes] of Object.entries(files)) {
    const full = path.join(dir, relative);
    await fs.mkdir(path.dirname(full), { recursive: true });
    await fs.writeFile(full, bytes);
    hashes[relative] = sha256(bytes);
  }
  return hashes;
}

/** Writes manifest.json (files listed with their hashes) and checks the bundle loads. */
export async function writeManifest(dir: string, draft: ManifestDraft, hashes: Record<string, string>): Promise<Bundle> {
  const manifest: Manifest = { ...draft, files: hashes };
  await fs.writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return loadBundle(dir);
}
