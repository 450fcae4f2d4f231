// Bundle signatures: ed25519 over the exact bytes of manifest.json, with Node's own crypto.
// The manifest lists the sha256 of every other file, so one signature binds the whole
// bundle; it sits beside the manifest in signature.json (the loader ignores that file).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, verify } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const SIGNATURE_FILE = 'signature.json';

export interface BundleSignature {
  format: 'split-dnn-signature/1';
  alg: 'ed25519';
  /** sha256 of the public key (SPKI DER), first 16 hex: which key signed, for the operator. */
  keyId: string;
  /** base64 ed25519 signature of manifest.json's bytes. */
  signature: string;
  /** The bundle it was made for, for people reading it (the signature is what counts). */
  name?: string;
  version?: string;
}

export type SignatureErrorCode = 'NO_SIGNATURE' | 'BAD_SIGNATURE_FILE' | 'WRONG_KEY' | 'BAD_SIGNATURE' | 'BAD_KEY';

export class SignatureError extends Error {
  constructor(readonly code: SignatureErrorCode, message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** A new ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function generateSigningKey(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyId(publicKey),
  };
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new SignatureError('BAD_KEY', `${what} is a ${key.asymmetricKeyType} key; bundles are signed with ed25519`);
  return key;
}

export function readPrivateKey(pem: string | Buffer): KeyObject {
  try { return ed25519(createPrivateKey(pem), 'the signing key'); } catch (err) {
    if (err instanceof SignatureError) throw err;
    throw new SignatureError('BAD_KEY', `not a PEM private key: ${(err as Error).message}`);
  }
}

export function readPublicKey(pem: string | Buffer): KeyObject {
  try { return ed25519(createPublicKey(pem), 'the pinned key'); } catch (err) {
    if (err instanceof SignatureError) throw err;
    throw new SignatureError('BAD_KEY', `not a PEM public key: ${(err as Error).message}`);
  }
}

export function signManifest(manifest: Buffer, key: KeyObject, about: { name?: string; version?: string } = {}): BundleSignature {
  return { format: 'split-dnn-signature/1', alg: 'ed25519', keyId: keyId(key), signature: sign(null, manifest, key).toString('base64'), ...about };
}

/** Throws SignatureError unless `sig` is `key`'s signature of these manifest bytes. */
export function verifyManifest(manifest: Buffer, sig: BundleSignature, key: KeyObject): void {
  if (sig.format !== 'split-dnn-signature/1' || sig.alg !== 'ed25519' || typeof sig.signature !== 'string') {
    throw new SignatureError('BAD_SIGNATURE_FILE', `${SIGNATURE_FILE} is not an ed25519 split-dnn signature`);
  }
  const pinned = keyId(key);
  if (sig.keyId !== pinned) throw new SignatureError('WRONG_KEY', `signed by key ${sig.keyId}, this gateway trusts key ${pinned} only`);
  if (!verify(null, manifest, key, Buffer.from(sig.signature, 'base64'))) {
    throw new SignatureError('BAD_SIGNATURE', `the signature does not match manifest.json (altered, or signed with another key claiming id ${sig.keyId})`);
  }
}

/** Signs a bundle folder in place: writes signature.json beside manifest.json. */
export async function signBundle(dir: string, key: KeyObject): Promise<BundleSignature> {
  const manifest = await fs.readFile(path.join(dir, 'manifest.json'));
  const m = JSON.parse(manifest.toString('utf8')) as { name?: string; version?: string };
  const sig = signManifest(manifest, key, { name: m.name, version: m.version });
  await fs.writeFile(path.join(dir, SIGNATURE_FILE), `${JSON.stringify(sig, null, 2)}\n`);
  return sig;
}

/** Checks a bundle folder's signature.json against the pinned key (the file hashes are the loader's). */
export async function verifyBundleSignature(dir: string, key: KeyObject): Promise<BundleSignature> {
  const manifest = await fs.readFile(path.join(dir, 'manifest.json'));
  let sig: BundleSignature;
  try {
    sig = JSON.parse(await fs.readFile(path.join(dir, SIGNATURE_FILE), 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'NO_SIGNATURE' : 'BAD_SIGNATURE_FILE';
    throw new SignatureError(code, code === 'NO_SIGNATURE' ? `bundle ${dir} is not signed (no ${SIGNATURE_FILE})` : `${SIGNATURE_FILE}: ${(err as Error).message}`);
  }
  verifyManifest(manifest, sig, key);
  return sig;
}
