// Reader for the IDX files (optionally gzipped) that Fashion-MNIST ships in, so eval can
// use Debian's dataset-fashion-mnist without any Python.
import { gunzipSync } from 'node:zlib';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export function parseIdx(bytes: Uint8Array): { dims: number[]; data: Uint8Array } {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? new Uint8Array(gunzipSync(bytes)) : bytes;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) throw new Error('not an IDX file of unsigned bytes');
  const ndim = raw[3];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const start = 4 + 4 * ndim;
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== start + count) throw new Error(`IDX file holds ${raw.length - start} bytes, dims say ${count}`);
  return { dims, data: raw.subarray(start) };
}

async function readFirst(dir: string, names: string[]): Promise<Uint8Array> {
  for (const name of names) {
    try { return new Uint8Array(await fs.readFile(path.join(dir, name))); } catch { /* try the next name */ }
  }
  throw new Error(`none of ${names.join(', ')} in ${dir}`);
}

/** The 10k Fashion-MNIST test set, or null when the dataset is not installed. */
export async function readFashionMnistTest(dir = DEFAULT_FASHION_MNIST): Promise<{ images: Uint8Array; labels: Uint8Array; count: number } | null> {
  try {
    const images = parseIdx(await readFirst(dir, ['t10k-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte']));
    const labels = parseIdx(await readFirst(dir, ['t10k-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte']));
    return { images: images.data, labels: labels.data, count: labels.dims[0] };
  } catch {
    return null;
  }
}
