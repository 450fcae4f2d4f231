// `split-dnn split --model M.onnx --at TENSOR --calibrate SAMPLES --out DIR` and `--list`
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from './args';
import { splitModel, firstSample, openSourceModel, listCandidates, setOrtLogSeverity, CandidateTensor, SourceModel, SplitReport, SplitOptions } from '../lib/split';
import { INPUT_TASK_OPTIONS, INPUT_TASK_USAGE, inputOptions, taskOptions } from './split-options';

type PreprocessSpec = NonNullable<SplitOptions['preprocess']>;

const USAGE = `usage: split-dnn split --model MODEL.onnx --at TENSOR --calibrate SAMPLES --out DIR [options]
       split-dnn split --model MODEL.onnx --list [--calibrate SAMPLES]

Cuts an ONNX model at a tensor into a head (edge) and a tail (cloud), quantizes the split
tensor to 8 bits with a step and range calibrated on the samples, builds the entropy
coder's frequency tables from them, checks that head then tail gives the original's
answers, and writes a bundle that split-dnn start --bundle DIR runs.

  --list               print the tensors a cut can be made at: shape (one onnxruntime run
                       at batch 1, on the first sample or on zeros), float32 bytes per
                       sample, and whether a cut there separates the graph
  --calibrate SAMPLES  a folder of PNG/JPEG images (resized to the input), a bundle folder
                       (its sample set), uint8 images (.u8, C×H×W each, with labels.u8 beside
                       it if present), raw float32 (.f32) or a .npy (float32/uint8)
  --sample-labels FILE labels of the samples (.u8: one byte each, or .npy of integers; for an
                       image folder, lines "<image> <label>[,<label>…]"; or one subfolder per class)
  --output NAME[,NAME] the graph outputs the tail gives (default: all of them)
  --scale S --mean a,b,c --std a,b,c
                       how uint8 samples (and uint8 camera frames at run time) become the
                       model input: x = (pixel*scale - mean[c]) / std[c]
                       (default 1/255, 0, 1; a bundle given to --calibrate brings its own)
  --labels FILE        class names, one per line (default: the calibration bundle's, or 0..K-1)
  --bits N             quantizer bits, 2..12 (default 8)
  --clip F             fraction of values allowed to clamp at each end of the range (default 0)
  --limit N            use at most N samples
  --samples N          samples kept in the bundle as its sample set (default: what fits 2 MiB)
  --verbose            show onnxruntime's own log
  --name NAME --version V   bundle name and version (default: the model file's name, 1.0.0)
  --force              replace an existing bundle in DIR
  --json               print the report as JSON

${INPUT_TASK_USAGE}`;

const numbers = (s: string | undefined): number[] | undefined => (s === undefined ? undefined : s.split(',').map((v) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`"${s}" must be comma-separated numbers`);
  return n;
}));

/** "1/255" → 0.00392…: scales are usually written as a ratio. */
function parseScale(s: string): number {
  const [a, b = 1] = s.split('/').map(Number);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) throw new Error(`--scale "${s}" is not a number or a ratio a/b`);
  return a / b;
}

/** --scale/--mean/--std when any is given (the rest default), else undefined (the samples' own or the default). */
function preprocessOption(args: { scale?: string; mean?: string; std?: string }, channels: number): PreprocessSpec | undefined {
  if (args.scale === undefined && args.mean === undefined && args.std === undefined) return undefined;
  return {
    scale: args.scale === undefined ? 1 / 255 : parseScale(args.scale),
    mean: numbers(args.mean) ?? new Array(channels).fill(0),
    std: numbers(args.std) ?? new Array(channels).fill(1),
  };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

/** Exporters write names of 200+ characters; a table cell keeps both ends. */
export function shorten(name: string, max = 48): string {
  if (name.length <= max) return name;
  const keep = max - 1;
  return `${name.slice(0, Math.ceil(keep / 2))}…${name.slice(name.length - Math.floor(keep / 2))}`;
}

function verdict(c: CandidateTensor): string {
  if (c.unused) return 'no: the output does not depend on it';
  if (c.refused) return `no: ${c.refused}`;
  if (c.type !== 'float32') return `no: not float32 (${c.type})`;
  if (c.crossing) return `no: also needs ${c.crossing.map((n) => shorten(n, 40)).join(', ')}`;
  return 'ok';
}

function listing(src: SourceModel, candidates: CandidateTensor[]): string {
  const rows = [['tensor', 'op', 'shape', 'float32/sample', 'cut']];
  for (const c of candidates) rows.push([shorten(c.name), c.op, `[${c.dims.join(', ')}]`, c.float32Bytes === null ? `(${c.type})` : `${c.float32Bytes} B`, verdict(c)]);
  const i = src.input;
  const about = `input "${i.name}" [${i.batch === 1 ? 1 : 'N'}, ${i.sampleDims.join(', ')}] ${i.layout}${i.layoutFrom === 'option' ? '' : ` (${i.layoutFrom === 'default' ? 'assumed' : `from the ${i.layoutFrom}`})`}` +
    `${i.batch === 1 ? ', batch fixed at 1' : ''}; outputs ${src.outputs.map((o) => `"${shorten(o, 40)}"`).join(', ')}`;
  return `${src.file}: ${candidates.length} candidate tensors (${about}; shapes from one onnxruntime run at batch 1)\n${table(rows)}`;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

const MEASURE_NAMES: Record<string, string> = { top1: 'argmax agreement', decision: 'decision agreement', 'boxes@0.5': 'boxes matched at IoU 0.5' };

function agreementText(a: SplitReport['float']): string {
  const measure = MEASURE_NAMES[a.measure];
  return `${measure ? `${measure} ${pct(a.value)}, ` : ''}max abs error ${a.maxAbsError.toExponential(2)}`;
}

function summary(r: SplitReport): string {
  const acc = (x: number | null) => (x === null ? 'n/a (no labels)' : pct(x));
  const q = r.quantized;
  return [
    `wrote ${r.bundle} (model id ${r.modelId}): head ${r.headNodes} nodes, tail ${r.tailNodes} nodes, split tensor [${r.splitShape.join(', ')}]`,
    `task ${r.task}; input [${r.input.shape.join(', ')}] ${r.input.layout} ${r.input.color}${r.input.batch === 1 ? ', batch fixed at 1 (run one frame at a time)' : ''}`,
    `on ${r.samples} (the calibration set; measure held-out images with split-dnn eval --images DIR):`,
    `  head → tail (float32):   ${agreementText(r.float)}`,
    `  head → ${r.rate.bits}-bit → tail:     ${agreementText(q)}`,
    ...(r.originalAccuracy !== null || q.accuracy !== null ? [`  accuracy: original ${acc(r.originalAccuracy)}, split ${acc(q.accuracy)}`] : []),
    `  quantizer: step ${r.rate.quant.step.toPrecision(4)}, symbols ${r.rate.quant.min}..${r.rate.quant.max} (range ${r.rate.range.lo.toPrecision(4)}..${r.rate.range.hi.toPrecision(4)})`,
    `  bytes per frame: float32 ${r.bytes.float32}, raw ${r.rate.bits}-bit ${r.bytes.raw8bit}, coded ${r.bytes.coded.toFixed(1)} (ideal ${r.bytes.ideal.toFixed(1)}, largest ${q.maxCodedBytes})`,
    `  sample set kept in the bundle: ${r.keptSamples} (--samples N)`,
    ...(q.measure !== 'maxAbsError' && q.value < 0.99 ? [`warning: the ${r.rate.bits}-bit split changes ${pct(1 - q.value)} of the answers; try --bits ${r.rate.bits + 2} or a cut elsewhere`] : []),
    `run it: split-dnn start --role edge --bundle ${r.bundle}  and  split-dnn start --role cloud --bundle ${r.bundle}`,
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: { type: 'string' }, at: { type: 'string' }, calibrate: { type: 'string' }, out: { type: 'string' },
    list: { type: 'boolean', default: false }, output: { type: 'string' }, 'sample-labels': { type: 'string' },
    scale: { type: 'string' }, mean: { type: 'string' }, std: { type: 'string' }, labels: { type: 'string' },
    bits: { type: 'string' }, clip: { type: 'string' }, limit: { type: 'string' }, samples: { type: 'string' }, verbose: { type: 'boolean', default: false },
    ...INPUT_TASK_OPTIONS,
    name: { type: 'string' }, version: { type: 'string' }, force: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
  }, USAGE);
  if (args.help) { console.log(USAGE); return 0; }
  if (!args.model) throw new Error(`--model is required\n\n${USAGE}`);
  setOrtLogSeverity(args.verbose ? 0 : 3);
  const input = inputOptions(args);
  const src = await openSourceModel(args.model, { ...input, outputs: args.output?.split(',') });
  const preprocess = preprocessOption(args, src.input.frame.channels);
  if (args.list) {
    const candidates = await listCandidates(src, await firstSample(args.calibrate, src, preprocess && { ...preprocess, resize: input.resize }));
    console.log(args.json ? JSON.stringify(candidates, null, 2) : listing(src, candidates));
    return 0;
  }
  for (const key of ['at', 'calibrate', 'out'] as const) if (!args[key]) throw new Error(`--${key} is required (or --list)\n\n${USAGE}`);
  const classNames = args.labels ? (await fs.readFile(args.labels, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter(Boolean) : undefined;
  const report = await splitModel({
    model: args.model, at: args.at!, calibrate: args.calibrate!, out: path.resolve(args.out!), output: args.output,
    ...input, task: taskOptions(args), samples: args.samples === undefined ? undefined : Number(args.samples),
    name: args.name, version: args.version, classNames, labelsFile: args['sample-labels'],
    preprocess,
    bits: args.bits === undefined ? undefined : Number(args.bits), clip: args.clip === undefined ? undefined : Number(args.clip),
    limit: args.limit === undefined ? undefined : Number(args.limit), force: args.force,
  });
  console.log(args.json ? JSON.stringify(report, null, 2) : summary(report));
  return 0;
}

