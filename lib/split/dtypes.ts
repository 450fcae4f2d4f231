// The element type of every tensor of a graph, found without running it: from the graph's
// inputs, initializers and value_info, then op by op. Enough to refuse a cut at an int64 or
// bool tensor (shape arithmetic, indices, masks) with the real reason before any inference.
import type { Attribute, Graph, NodeProto } from './onnx-proto';
import { ElemType, elemTypeOf, toNumber } from './onnx-proto';

const BOOL = 9;
const NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };
export const elemTypeName = (t: number | undefined): string => (t === undefined ? 'unknown' : NAMES[t] ?? `type ${t}`);

const INT64_OUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'NonMaxSuppression']);
const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor', 'Not', 'IsNaN', 'IsInf']);
/** Ops whose output type is that of their input at this index (data, not indices or shapes). */
const FROM_INPUT: Record<string, number> = { Where: 1, ConstantOfShape: -1 };

const attr = (n: NodeProto, name: string): Attribute | undefined => n.attribute.find((a) => a.name === name);

function outputType(n: NodeProto, types: Map<string, number>, index: number): number | undefined {
  if (INT64_OUT.has(n.opType) || (n.opType === 'TopK' && index === 1)) return ElemType.INT64;
  if (BOOL_OUT.has(n.opType)) return BOOL;
  if (n.opType === 'Cast') return toNumber(attr(n, 'to')?.i);
  if (n.opType === 'CastLike') return types.get(n.input[1]);
  if (n.opType === 'Constant') {
    const a = n.attribute[0];
    if (a?.t) return a.t.dataType ?? undefined;
    if (a?.name === 'value_float' || a?.name === 'value_floats') return ElemType.FLOAT;
    if (a?.name === 'value_int' || a?.name === 'value_ints') return ElemType.INT64;
    return undefined;
  }
  if (n.opType === 'ConstantOfShape') return attr(n, 'value')?.t?.dataType ?? ElemType.FLOAT;
  const from = FROM_INPUT[n.opType] ?? 0;
  return from >= 0 ? types.get(n.input[from]) : undefined;
}

/** name → ONNX element type, for every tensor whose type the graph or its ops make clear. */
export function elemTypes(g: Graph): Map<string, number> {
  const types = new Map<string, number>();
  for (const t of g.initializer) if (t.name && t.dataType) types.set(t.name, t.dataType);
  for (const v of [...g.input, ...g.valueInfo, ...g.output]) {
    const t = elemTypeOf(v);
    if (t) types.set(v.name, t);
  }
  for (const n of g.node) {
    n.output.forEach((y, i) => {
      if (!y || types.has(y)) return;
      const t = outputType(n, types, i);
      if (t) types.set(y, t);
    });
  }
  return types;
}
