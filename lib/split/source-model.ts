// The user's ONNX model as the splitter sees it: its graph index, its one input resolved to
// fixed dims (input-spec.ts), the outputs the tail produces, and the candidate split
// tensors for `--list`.
import { promises as fs } from 'node:fs';
import { CandidateCut, GraphIndex, candidateCuts } from './graph-cut';
import { ElemType, ModelProto, elemTypeOf, readModel, shapeOf } from './onnx-proto';
import { InputOptions, InputSpec, resolveInput } from './input-spec';
import { probeShapes } from './probe';

export interface SourceModel {
  file: string;
  bytes: Uint8Array;
  model: ModelProto;
  index: GraphIndex;
  input: InputSpec;
  /** The graph outputs the tail produces, in graph order (or as chosen). */
  outputs: string[];
  /** The first of them (the bundle's `tail.logits` unless the task names another). */
  output: string;
}

export interface SourceOptions extends InputOptions {
  /** Graph outputs the tail gives; default all of them. */
  outputs?: string[];
}

export async function openSourceModel(file: string, opts: SourceOptions | string = {}): Promise<SourceModel> {
  const o: SourceOptions = typeof opts === 'string' ? { outputs: [opts] } : opts;
  const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `model file ${file} does not exist` : `cannot read model file ${file}: ${err.message}`);
  });
  const model = readModel(bytes, file);
  const index = new GraphIndex(model.graph!);
  const inputs = model.graph!.input.filter((v) => index.inputs.includes(v.name));
  if (inputs.length !== 1) {
    throw new Error(`${file} has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); a bundle's head takes exactly one`);
  }
  if (elemTypeOf(inputs[0]) !== ElemType.FLOAT) throw new Error(`${file}: input "${inputs[0].name}" must be float32`);
  const input = resolveInput(index, inputs[0].name, shapeOf(inputs[0]) ?? [], file, o);
  const all = model.graph!.output.map((v) => v.name);
  const missing = (o.outputs ?? []).filter((n) => !all.includes(n));
  if (missing.length) throw new Error(`${file} has no output ${missing.map((n) => `"${n}"`).join(', ')} (outputs: ${all.join(', ')})`);
  const outputs = o.outputs?.length ? o.outputs : all;
  return { file, bytes, model, index, input, outputs, output: outputs[0] };
}

export interface CandidateTensor extends CandidateCut {
  /** Shape measured by onnxruntime on one sample, batch axis included (batch 1). */
  dims: number[];
  type: string;
  /** float32 bytes per sample (batch axis excluded), or null for other types. */
  float32Bytes: number | null;
}

/** Every activation of the graph with its shape (one ORT run) and whether a cut there works. */
export async function listCandidates(src: SourceModel, sample: Float32Array): Promise<CandidateTensor[]> {
  const cuts = candidateCuts(src.index, src.outputs);
  const shapes = await probeShapes(src.model, src.input.name, sample, src.input.sampleDims, cuts.map((c) => c.name));
  return cuts.map((c) => {
    const s = shapes.get(c.name)!;
    const per = s.dims.slice(1).reduce((a, b) => a * b, 1);
    return { ...c, dims: s.dims, type: s.type, float32Bytes: s.type === 'float32' ? per * 4 : null };
  });
}
