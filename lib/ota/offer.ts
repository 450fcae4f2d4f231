// An update offer: what the cloud announces (retained) to a gateway or a group: which
// bundle version, its files with sizes and sha256, and how to fetch them (chunks over MQTT,
// or a URL on the local network). The offer is a hint for the transfer; what a gateway
// trusts is the signature over manifest.json and the hashes inside it.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sha256 } from '../model/bundle';
import { parseManifest } from '../model/manifest';
import { SIGNATURE_FILE } from './signing';

export interface OfferFile { path: string; size: number; sha256: string }

export interface Offer {
  format: 'split-dnn-offer/1';
  name: string;
  version: string;
  modelId: string;
  /** manifest.json and signature.json first, then every file the manifest lists. */
  files: OfferFile[];
  chunkSize: number;
  /** Base URL serving the bundle's files (HTTP, Range requests): used instead of MQTT chunks. */
  url?: string;
  publishedAt: number;
}

export const DEFAULT_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
const MAX_TOTAL = 2 * 1024 * 1024 * 1024;
const MODEL_ID = /^[0-9a-f]{16}$/;

export class OfferError extends Error {
  constructor(message: string) {
    super(`update offer: ${message}`);
    this.name = 'OfferError';
  }
}

/** A relative path that stays inside the bundle folder, or an OfferError. */
export function safeRelative(p: unknown): string {
  if (typeof p !== 'string' || !p || p.length > 255 || path.isAbsolute(p) || p.includes('\\') || p.includes('\0')) {
    throw new OfferError(`file path ${JSON.stringify(p)} is not a plain relative path`);
  }
  const norm = path.posix.normalize(p);
  if (norm !== p || norm.startsWith('../') || norm === '..' || norm.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new OfferError(`file path ${JSON.stringify(p)} leaves the bundle folder or is not normalized`);
  }
  return p;
}

/** The offer for a signed bundle folder. */
export async function buildOffer(dir: string, opts: { chunkSize?: number; url?: string } = {}): Promise<Offer> {
  const manifestBytes = await fs.readFile(path.join(dir, 'manifest.json'));
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  await fs.access(path.join(dir, SIGNATURE_FILE)).catch(() => {
    throw new OfferError(`${dir} is not signed: run split-dnn sign-bundle --key KEY --bundle ${dir}`);
  });
  const names = ['manifest.json', SIGNATURE_FILE, ...Object.keys(manifest.files)];
  const files = await Promise.all(names.map(async (rel) => {
    const bytes = await fs.readFile(path.join(dir, safeRelative(rel)));
    return { path: rel, size: bytes.length, sha256: sha256(bytes) };
  }));
  return {
    format: 'split-dnn-offer/1', name: manifest.name, version: manifest.version, modelId: sha256(manifestBytes).slice(0, 16),
    files, chunkSize: opts.chunkSize ?? DEFAULT_CHUNK, ...(opts.url ? { url: opts.url } : {}), publishedAt: Date.now(),
  };
}

/** Parses and checks an offer from the wire; throws OfferError naming what is wrong. */
export function parseOffer(payload: Buffer | string): Offer {
  let o: Record<string, unknown>;
  try { o = JSON.parse(payload.toString()); } catch (err) { throw new OfferError(`not JSON (${(err as Error).message})`); }
  if (typeof o !== 'object' || o === null || o.format !== 'split-dnn-offer/1') throw new OfferError('format must be "split-dnn-offer/1"');
  for (const k of ['name', 'version'] as const) if (typeof o[k] !== 'string' || !(o[k] as string).length) throw new OfferError(`${k} must be a string`);
  if (typeof o.modelId !== 'string' || !MODEL_ID.test(o.modelId)) throw new OfferError('modelId must be 16 lower-case hex characters');
  const chunk = o.chunkSize;
  if (!Number.isInteger(chunk) || (chunk as number) < 1024 || (chunk as number) > MAX_CHUNK) throw new OfferError(`chunkSize must be an integer from 1024 to ${MAX_CHUNK}`);
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^https?:\/\//.test(o.url))) throw new OfferError('url must be an http(s) URL');
  if (!Array.isArray(o.files) || o.files.length < 2) throw new OfferError('files must list manifest.json, signature.json and the bundle files');
  let total = 0;
  const seen = new Set<string>();
  const files = o.files.map((f: Record<string, unknown>) => {
    const rel = safeRelative(f?.path);
    if (seen.has(rel)) throw new OfferError(`file ${rel} is listed twice`);
    seen.add(rel);
    if (!Number.isInteger(f.size) || (f.size as number) < 0) throw new OfferError(`file ${rel}: size must be a non-negative integer`);
    if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw new OfferError(`file ${rel}: sha256 must be 64 hex characters`);
    total += f.size as number;
    return { path: rel, size: f.size as number, sha256: f.sha256 };
  });
  if (files[0].path !== 'manifest.json' || !seen.has(SIGNATURE_FILE)) throw new OfferError(`files must start with manifest.json and include ${SIGNATURE_FILE}`);
  if (total > MAX_TOTAL) throw new OfferError(`bundle of ${total} bytes is larger than ${MAX_TOTAL}`);
  return { format: 'split-dnn-offer/1', name: o.name as string, version: o.version as string, modelId: o.modelId, files, chunkSize: chunk as number, url: o.url as string | undefined, publishedAt: Number(o.publishedAt) || 0 };
}

export const offerBytes = (o: Offer) => o.files.reduce((n, f) => n + f.size, 0);

// A chunk on the wire: u32le header length, the JSON header, then the bytes.
export interface ChunkRequest { modelId: string; file: string; offset: number; length: number }
export interface ChunkHeader { modelId: string; file: string; offset: number; error?: string }

export function encodeChunk(header: ChunkHeader, data: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  return Buffer.concat([len, h, data]);
}

export function decodeChunk(payload: Buffer): { header: ChunkHeader; data: Buffer } {
  if (payload.length < 4) throw new OfferError('chunk shorter than its header length');
  const n = payload.readUInt32LE(0);
  if (n > 4096 || 4 + n > payload.length) throw new OfferError('chunk header length out of range');
  let header: ChunkHeader;
  try { header = JSON.parse(payload.toString('utf8', 4, 4 + n)); } catch { throw new OfferError('chunk header is not JSON'); }
  if (typeof header?.file !== 'string' || typeof header.modelId !== 'string' || !Number.isInteger(header.offset) || header.offset < 0) throw new OfferError('chunk header needs modelId, file and offset');
  return { header, data: payload.subarray(4 + n) };
}
