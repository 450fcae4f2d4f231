// Whatever a message brings as an image → one sample of the head's float input. The forms:
// - a Float32Array already preprocessed (the model's own layout);
// - PNG or JPEG bytes of any size;
// - raw interleaved pixels (RGB24, BGR24, RGBA, GRAY8) of any size, with their width and
//   height (msg.width/msg.height, or a payload object {data, width, height, channels, color});
// - one frame in the bundle's frame format (uint8, channel-major, `input.source` size, the
//   model's colour order; also as an array of numbers): what old flows send.
import type { Manifest } from './manifest';
import { InferenceError } from './tensor';
import { preprocessPixels, pixelsPerFrame } from './preprocess';
import { Image, ImageError, RawFormat, decodeImage, imageKind, imageToInput, rawImage } from './image-input';

/** Fields next to the payload that describe raw pixels (msg.width, msg.height, …). */
export interface RawHints { width?: unknown; height?: unknown; channels?: unknown; color?: unknown }

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? `an array of ${v.length}`
  : typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v);

/** Raw pixels of a size the hints give; channels from the hints or the byte count. */
function rawFromHints(bytes: Uint8Array, hints: RawHints): Image {
  const width = Number(hints.width);
  const height = Number(hints.height);
  const color = hints.color === undefined ? undefined : String(hints.color).toLowerCase();
  if (color !== undefined && !['rgb', 'bgr', 'gray', 'rgba'].includes(color)) throw new ImageError(`raw frame: color must be rgb, bgr, rgba or gray, got "${hints.color}"`);
  const guess = width > 0 && height > 0 ? bytes.length / (width * height) : NaN;
  const channels = hints.channels !== undefined ? Number(hints.channels) : color === 'gray' ? 1 : color === 'rgba' ? 4 : color ? 3 : guess;
  if (![1, 3, 4].includes(channels)) {
    throw new ImageError(`raw frame: ${bytes.length} bytes is not ${width}×${height} pixels of 1 (gray), 3 (RGB/BGR) or 4 (RGBA) bytes each`);
  }
  return rawImage(bytes, { width, height, channels: channels as RawFormat['channels'], color: color === 'bgr' ? 'bgr' : undefined });
}

/** One message's image → the head's input for one sample. */
export function headInput(m: Manifest, payload: unknown, hints: RawHints = {}): Float32Array {
  const floats = m.input.shape.slice(1).reduce((a, b) => a * b, 1);
  const s = m.input.source;
  if (payload instanceof Float32Array) {
    if (payload.length !== floats) {
      const batch = payload.length > floats && payload.length % floats === 0 ? `: ${payload.length / floats} samples, and a message carries one` : '';
      throw new InferenceError('BAD_INPUT', `Float32Array payload has ${payload.length} values, the head takes ${floats} ([${m.input.shape.slice(1)}])${batch}`);
    }
    return payload;
  }
  if (payload instanceof Uint8Array) {
    if (imageKind(payload)) return imageToInput(m, decodeImage(payload, 'payload'));
    if (hints.width !== undefined || hints.height !== undefined) return imageToInput(m, rawFromHints(payload, hints));
    if (payload.length === pixelsPerFrame(m)) return preprocessPixels(m, payload, 1);
    throw new ImageError(`expected 1 × ${s.channels}×${s.height}×${s.width} = ${pixelsPerFrame(m)} uint8 pixels, got ${payload.length} bytes that are not a PNG or JPEG either; `
      + 'for raw camera pixels of another size set msg.width and msg.height');
  }
  if (Array.isArray(payload) && payload.length === pixelsPerFrame(m) && payload.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) {
    return preprocessPixels(m, Uint8Array.from(payload), 1);
  }
  if (typeof payload === 'object' && payload !== null && (payload as { data?: unknown }).data instanceof Uint8Array) {
    const p = payload as RawHints & { data: Uint8Array };
    return imageToInput(m, imageKind(p.data) ? decodeImage(p.data, 'payload.data') : rawFromHints(p.data, p));
  }
  throw new ImageError(`payload must be ${s.channels}×${s.height}×${s.width} uint8 pixels (Buffer), a PNG or JPEG, raw pixels with msg.width and msg.height, `
    + `{data, width, height} or a Float32Array of ${floats}; got ${describe(payload)}`);
}
