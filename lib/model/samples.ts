// The bundle's small labelled sample set: the demo camera replays it, tests and eval use it.
import { promises as fs } from 'node:fs';
import type { Bundle } from './bundle';
import { pixelsPerFrame } from './preprocess';

export interface SampleSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  pixelsPerImage: number;
  /** false when the labels are placeholders (a detection or multilabel bundle's one byte per sample cannot hold its answer). */
  labelled: boolean;
}

export async function readSamples(bundle: Bundle): Promise<SampleSet> {
  const spec = bundle.manifest.samples;
  if (!spec) throw new Error(`bundle ${bundle.dir} has no sample set`);
  const [images, labels] = await Promise.all([fs.readFile(bundle.file(spec.images)), fs.readFile(bundle.file(spec.labels))]);
  const per = pixelsPerFrame(bundle.manifest);
  if (images.length !== spec.count * per || labels.length !== spec.count) {
    throw new Error(`bundle ${bundle.dir}: sample files do not hold ${spec.count} samples of ${per} pixels`);
  }
  const labelled = !String(spec.labelSource ?? '').startsWith('none');
  return { images: new Uint8Array(images), labels: new Uint8Array(labels), count: spec.count, pixelsPerImage: per, labelled };
}

export function sampleImage(set: SampleSet, i: number): Uint8Array {
  return set.images.subarray(i * set.pixelsPerImage, (i + 1) * set.pixelsPerImage);
}
