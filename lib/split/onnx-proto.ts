// Reading and writing ONNX models through the official schema (onnx.proto, vendored next to
// this file), plus the few constructors the splitter and the tests need. Fields this code
// never looks at, and fields the schema does not know, survive a round trip.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeMessage, encodeMessage } from './proto-codec';
import { parseProto, Schema } from './proto-schema';

/** int64 fields decode to plain numbers, or to an exact Int64Value beyond 2^53. */
export type Int64 = number | { toNumber(): number };

export interface Dim { dimValue?: Int64 | null; dimParam?: string | null }
export interface TypeProto { tensorType?: { elemType?: number; shape?: { dim: Dim[] } | null } | null; [k: string]: unknown }
export interface ValueInfo { name: string; type?: TypeProto | null; docString?: string }
export interface TensorProto {
  name?: string; dims: Int64[]; dataType?: number;
  floatData?: number[]; int64Data?: Int64[]; rawData?: Uint8Array;
  dataLocation?: number; [k: string]: unknown;
}
export interface Attribute {
  name: string; type?: number; i?: Int64; f?: number; ints?: Int64[]; floats?: number[]; s?: Uint8Array;
  t?: TensorProto | null; g?: Graph | null; graphs?: Graph[]; [k: string]: unknown;
}
export interface NodeProto { input: string[]; output: string[]; name?: string; opType: string; domain?: string; attribute: Attribute[]; [k: string]: unknown }
export interface Graph {
  name?: string; node: NodeProto[]; initializer: TensorProto[]; sparseInitializer?: { values?: TensorProto | null }[];
  input: ValueInfo[]; output: ValueInfo[]; valueInfo: ValueInfo[]; [k: string]: unknown;
}
export interface ModelProto {
  irVersion?: Int64; opsetImport: { domain?: string; version?: Int64 }[]; producerName?: string; producerVersion?: string;
  graph?: Graph | null; [k: string]: unknown;
}

/** TensorProto.DataType values this code names. */
export const ElemType = { FLOAT: 1, UINT8: 2, INT64: 7 } as const;
const DATA_LOCATION_EXTERNAL = 1;

export const toNumber = (v: Int64 | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());

/** The vendored schema; the build copies it beside the compiled file (scripts/copy-assets.js). */
function schemaPath(): string {
  const file = path.join(__dirname, 'onnx.proto');
  if (!fs.existsSync(file)) throw new Error(`onnx.proto not found beside ${__dirname}: run npm run build`);
  return file;
}

let schema: Schema | null = null;
const onnxSchema = (): Schema => (schema ??= parseProto(fs.readFileSync(schemaPath(), 'utf8')));
const MODEL = 'onnx.ModelProto';

export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** Parse an .onnx file's bytes. Refuses what the splitter cannot carry into a bundle. */
export function readModel(bytes: Uint8Array, what = 'model'): ModelProto {
  let model: ModelProto;
  try {
    model = decodeMessage(onnxSchema(), MODEL, bytes) as unknown as ModelProto;
  } catch (err) {
    throw new OnnxFormatError(`${what} is not an ONNX model (${(err as Error).message})`);
  }
  if (!model.graph || !model.graph.node?.length) throw new OnnxFormatError(`${what} has no graph nodes (is it an ONNX model?)`);
  const external = model.graph.initializer.find((t) => t.dataLocation === DATA_LOCATION_EXTERNAL);
  if (external) {
    throw new OnnxFormatError(`${what}: initializer ${external.name} keeps its data in an external file; save the model as one file (onnx.save(model, path, save_as_external_data=False))`);
  }
  return model;
}

export function writeModel(model: ModelProto): Uint8Array {
  return encodeMessage(onnxSchema(), MODEL, model as unknown as Record<string, unknown>);
}

// ---- constructors (plain objects; writeModel encodes them like decoded messages) ----

/** dims: numbers, or a string for a symbolic axis (e.g. 'N' for the batch). */
export function valueInfo(name: string, elemType: number, dims: (number | string)[]): ValueInfo {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

export function floatTensor(name: string, dims: number[], values: Float32Array): TensorProto {
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return { name, dims, dataType: ElemType.FLOAT, rawData: raw };
}

export function int64Tensor(name: string, values: number[]): TensorProto {
  return { name, dims: [values.length], dataType: ElemType.INT64, int64Data: values };
}

export type AttrValue = number | number[] | string;
export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): NodeProto {
  const attribute: Attribute[] = Object.entries(attrs).map(([key, v]) => {
    if (typeof v === 'string') return { name: key, type: 3, s: Buffer.from(v) };
    if (Array.isArray(v)) return v.every(Number.isInteger) ? { name: key, type: 7, ints: v } : { name: key, type: 6, floats: v };
    return Number.isInteger(v) ? { name: key, type: 2, i: v } : { name: key, type: 1, f: v };
  });
  return { input: inputs, output: outputs, opType, attribute, name: name ?? `${opType}_${outputs[0]}` };
}

export interface GraphParts { name: string; nodes: NodeProto[]; inputs: ValueInfo[]; outputs: ValueInfo[]; initializers?: TensorProto[]; valueInfo?: ValueInfo[] }

export function graph(parts: GraphParts): Graph {
  return { name: parts.name, node: parts.nodes, input: parts.inputs, output: parts.outputs, initializer: parts.initializers ?? [], valueInfo: parts.valueInfo ?? [] };
}

/** A model around a graph; opset and IR version default to what the project's bundles use. */
export function model(g: Graph, like?: ModelProto): ModelProto {
  if (like) {
    const { graph: _old, ...rest } = like;
    return { ...rest, opsetImport: like.opsetImport, graph: g };
  }
  return { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'split-dnn', graph: g };
}

/** Shape of a ValueInfo: numbers, or the dim_param string (or '?') for a symbolic axis. */
export function shapeOf(v: ValueInfo | undefined): (number | string)[] | null {
  const dims = v?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : d.dimParam || '?'));
}

export const elemTypeOf = (v: ValueInfo | undefined): number | undefined => v?.type?.tensorType?.elemType;
