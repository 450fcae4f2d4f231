// The model input as real exports have it: dynamic dims (torch.onnx "H"/"W", paddle2onnx
// "-1"), a batch fixed at 1 (tf2onnx), NHWC with a Transpose first. Resolved once into fixed
// per-sample dims, a layout, a batch mode and the uint8 frame shape the bundle declares.
import type { ColorOrder, Layout } from '../model/manifest';
import type { GraphIndex } from './graph-cut';
import { toNumber } from './onnx-proto';

export interface InputSpec {
  name: string;
  /** Per-sample dims in the model's own layout (batch excluded), all fixed. */
  sampleDims: number[];
  layout: Layout;
  /** How the layout was decided, for the report. */
  layoutFrom: 'option' | 'transpose' | 'shape' | 'default';
  batch: 'dynamic' | 1;
  /** The uint8 frame a gateway feeds: channel-major C×H×W whatever the layout. */
  frame: { channels: number; height: number; width: number };
  color: ColorOrder;
}

export interface InputOptions { inputShape?: number[]; layout?: Layout; color?: ColorOrder }

const isImageChannels = (d: number | string) => d === 1 || d === 3;

/** nhwc when the graph makes it clear: a Transpose [0,3,1,2] reads the input, or the last dim is 1/3 and axis 1 is not. */
export function detectLayout(index: GraphIndex, name: string, dims: (number | string)[]): { layout: Layout; from: InputSpec['layoutFrom'] } {
  if (dims.length !== 4) return { layout: 'nchw', from: 'default' };
  const transpose = index.readersOf(name).find((n) => n.opType === 'Transpose');
  const perm = transpose?.attribute.find((a) => a.name === 'perm')?.ints?.map(toNumber);
  if (perm && perm.join(',') === '0,3,1,2') return { layout: 'nhwc', from: 'transpose' };
  if (isImageChannels(dims[1])) return { layout: 'nchw', from: 'shape' };
  if (isImageChannels(dims[3])) return { layout: 'nhwc', from: 'shape' };
  return { layout: 'nchw', from: 'default' };
}

export function resolveInput(index: GraphIndex, name: string, declared: (number | string)[], file: string, opts: InputOptions = {}): InputSpec {
  if (declared.length < 2) throw new Error(`${file}: input "${name}" has shape [${declared}]; it needs a batch axis first and the sample's dims after it`);
  const show = (dims: (number | string)[]) => `[${dims.join(', ')}]`;
  let dims = [...declared];
  if (opts.inputShape) {
    const given = opts.inputShape.length === dims.length - 1 ? [dims[0], ...opts.inputShape] : opts.inputShape;
    if (given.length !== dims.length) throw new Error(`--input-shape ${opts.inputShape.join(',')} has ${opts.inputShape.length} dims; input "${name}" has ${dims.length} ${show(dims)}`);
    given.forEach((d, i) => {
      if (i > 0 && typeof dims[i] === 'number' && d !== dims[i]) throw new Error(`--input-shape gives ${d} for axis ${i} of input "${name}", which the model fixes at ${dims[i]} ${show(declared)}`);
    });
    dims = given.map((d, i) => (i === 0 && typeof dims[0] !== 'number' ? dims[0] : d));
  }
  const dynamic = dims.slice(1).map((d, i) => (typeof d === 'number' ? null : `${i + 1} (${d})`)).filter(Boolean);
  if (dynamic.length) {
    throw new Error(`${file}: input "${name}" has shape ${show(declared)} with dynamic axes ${dynamic.join(', ')}: ` +
      `give the size to run at with --input-shape, e.g. --input-shape ${dims.slice(1).map((d) => (typeof d === 'number' ? d : 224)).join(',')}`);
  }
  if (typeof dims[0] === 'number' && dims[0] !== 1) throw new Error(`${file}: input "${name}" has its batch fixed at ${dims[0]} ${show(declared)}; only a dynamic batch or a batch of 1 can be run frame by frame`);
  const sampleDims = dims.slice(1) as number[];
  const detected = detectLayout(index, name, declared);
  const layout = opts.layout ?? detected.layout;
  const from = opts.layout ? 'option' : detected.from;
  const frame = sampleDims.length === 3
    ? (layout === 'nhwc' ? { height: sampleDims[0], width: sampleDims[1], channels: sampleDims[2] } : { channels: sampleDims[0], height: sampleDims[1], width: sampleDims[2] })
    : { channels: 1, height: 1, width: sampleDims.reduce((a, b) => a * b, 1) };
  const color = opts.color ?? (frame.channels === 1 ? 'gray' : 'rgb');
  if ((color === 'gray') !== (frame.channels === 1)) throw new Error(`--color ${color} does not fit input "${name}" with ${frame.channels} channel(s) (${layout})`);
  return { name, sampleDims, layout, layoutFrom: from, batch: dims[0] === 1 ? 1 : 'dynamic', frame, color };
}
