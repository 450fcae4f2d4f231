// PNG and WebP through sharp (libvips, prebuilt in the npm package): the image codecs an
// offloading gateway would use, for the link and rate-accuracy benchmarks.
import type { Sharp } from 'sharp';

export type ImageCodec = 'png' | 'webp' | 'jpeg';
export interface ImageSize { width: number; height: number; channels: 1 | 3 }

// Loaded on first use: sharp is a dev dependency, and only these benchmarks need it.
const sharp = (input: Buffer, raw?: ImageSize): Sharp =>
  (require('sharp') as (i: Buffer, o?: object) => Sharp)(input, raw ? { raw } : undefined);

export async function encodeImage(pixels: Uint8Array, size: ImageSize, codec: ImageCodec, quality = 75): Promise<Buffer> {
  // Without b-w, sharp writes a grey image as an RGB PNG: nearly twice the bytes.
  const img = size.channels === 1 ? sharp(Buffer.from(pixels), size).toColourspace('b-w') : sharp(Buffer.from(pixels), size);
  if (codec === 'png') return img.png({ compressionLevel: 9, adaptiveFiltering: true, palette: false }).toBuffer();
  return codec === 'jpeg' ? img.jpeg({ quality }).toBuffer() : img.webp({ quality }).toBuffer();
}

export async function decodeImage(bytes: Buffer, channels: 1 | 3): Promise<Uint8Array> {
  const img = sharp(bytes);
  return new Uint8Array(await (channels === 1 ? img.greyscale() : img.removeAlpha()).raw().toBuffer());
}
