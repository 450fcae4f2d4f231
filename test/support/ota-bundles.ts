// Bundle versions for update tests: copies of the shipped bundle with a new version string
// (so a new model id), signed; optionally altered before signing (a bad but validly
// signed bundle) or after (a tampered one).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '../../lib/model/bundle';
import { generateSigningKey, readPrivateKey, signBundle } from '../../lib/ota/signing';
import { BUNDLE, tempDir } from './paths';

export interface TestKey { privatePem: string; publicPem: string; keyId: string }
export const newKey = (): TestKey => generateSigningKey();

/** A signed copy of the shipped bundle as `version`; `alter` may change files before the manifest is re-hashed and signed. */
export async function makeVersion(version: string, key: TestKey, alter?: (dir: string) => void): Promise<string> {
  const dir = tempDir(`bundle-${version}`);
  fs.cpSync(BUNDLE, dir, { recursive: true });
  fs.rmSync(path.join(dir, 'signature.json'), { force: true });
  alter?.(dir);
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  m.version = version;
  for (const rel of Object.keys(m.files)) m.files[rel] = sha256(fs.readFileSync(path.join(dir, rel)));
  fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
  await signBundle(dir, readPrivateKey(key.privatePem));
  return dir;
}

/** Every sample label moved to the next class: the model is fine, its sample check collapses. */
export function shiftLabels(dir: string): void {
  const file = path.join(dir, 'samples', 'labels.u8');
  const labels = fs.readFileSync(file);
  const classes = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).labels.length;
  fs.writeFileSync(file, labels.map((l) => (l + 1) % classes));
}

/** One byte of a file flipped after signing: what a corrupted download or an attacker leaves. */
export function flipByte(dir: string, rel: string): void {
  const file = path.join(dir, rel);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length >> 1] ^= 0x40;
  fs.writeFileSync(file, bytes);
}

export const modelIdOf = (dir: string) => sha256(fs.readFileSync(path.join(dir, 'manifest.json'))).slice(0, 16);
