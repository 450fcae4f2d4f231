// The user's ONNX model as the splitter sees it: its graph index, its one input and the
// output that carries the logits, and the candidate split tensors for `--list`.
import { promises as fs } from 'node:fs';
import { CandidateCut, GraphIndex, candidateCuts } from './graph-cut';
import { ElemType, ModelProto, elemTypeOf, readModel, shapeOf } from './onnx-proto';
import { probeShapes } from './probe';

export interface SourceModel {
  file: string;
  bytes: Uint8Array;
  model: ModelProto;
  index: GraphIndex;
  input: { name: string; sampleDims: number[] };
  /** The graph output the tail produces (the logits). */
  output: string;
}

export async function openSourceModel(file: string, output?: string): Promise<SourceModel> {
  const bytes = await fs.readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `model file ${file} does not exist` : `cannot read model file ${file}: ${err.message}`);
  });
  const model = readModel(bytes, file);
  const index = new GraphIndex(model.graph!);
  const inputs = model.graph!.input.filter((v) => index.inputs.includes(v.name));
  if (inputs.length !== 1) {
    throw new Error(`${file} has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); a bundle's head takes exactly one`);
  }
  const shape = shapeOf(inputs[0]);
  if (elemTypeOf(inputs[0]) !== ElemType.FLOAT) throw new Error(`${file}: input "${inputs[0].name}" must be float32`);
  if (!shape || shape.length < 2 || shape.slice(1).some((d) => typeof d !== 'number')) {
    throw new Error(`${file}: input "${inputs[0].name}" has shape [${shape ?? '?'}]; it needs a batch axis and fixed sizes after it`);
  }
  const outputs = model.graph!.output.map((v) => v.name);
  const chosen = output ?? outputs[0];
  if (!outputs.includes(chosen)) throw new Error(`${file} has no output "${chosen}" (outputs: ${outputs.join(', ')})`);
  return { file, bytes, model, index, input: { name: inputs[0].name, sampleDims: shape.slice(1) as number[] }, output: chosen };
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
  const cuts = candidateCuts(src.index, [src.output]);
  const shapes = await probeShapes(src.model, src.input.name, sample, src.input.sampleDims, cuts.map((c) => c.name));
  return cuts.map((c) => {
    const s = shapes.get(c.name)!;
    const per = s.dims.slice(1).reduce((a, b) => a * b, 1);
    return { ...c, dims: s.dims, type: s.type, float32Bytes: s.type === 'float32' ? per * 4 : null };
  });
}
