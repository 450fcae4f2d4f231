// Building ONNX models inside the tests (they never download one): a composition of the
// project's own head and tail into one full model, and small CNNs with seeded random weights.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prng } from '../../bench/fuzz';
import {
  ElemType, Graph, ModelProto, NodeProto, TensorProto, floatTensor, graph, model, node, readModel, valueInfo, writeModel,
} from '../../lib/split/onnx-proto';

/** The repository root, from test/ or from any build folder (dist/, dist-split/, …). */
export function repoRoot(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'models'))) return dir;
  }
  throw new Error(`no repository root above ${__dirname}`);
}

export const readOnnx = (file: string): ModelProto => readModel(fs.readFileSync(file), file);

/**
 * One model computing tail(head(x)): the head's nodes up to `link`, then the tail's nodes
 * with every tail-internal name prefixed so nothing clashes. Only `output` is kept.
 */
export function composeHeadTail(head: ModelProto, tail: ModelProto, link: string, output: string): ModelProto {
  const h = head.graph!;
  const t = tail.graph!;
  const rename = (name: string) => (name === '' || name === link || name === output ? name : `tail/${name}`);
  const tailNodes: NodeProto[] = t.node.map((n) => ({ ...n, input: n.input.map(rename), output: n.output.map(rename), name: `tail/${n.name ?? ''}` }));
  const tailInits: TensorProto[] = t.initializer.map((init) => ({ ...init, name: rename(init.name ?? '') }));
  const g: Graph = graph({
    name: 'full',
    nodes: [...h.node, ...tailNodes],
    inputs: h.input,
    outputs: t.output.filter((v) => v.name === output),
    initializers: [...h.initializer, ...tailInits],
  });
  return model(g, head);
}

/** Seeded random weights, the same on every run (the fuzzer's mulberry32). */
export const rng = prng;

function randomWeights(n: number, scale: number, random: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

/** A graph under construction: layers append nodes and initializers and return their output. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  constructor(private readonly random: () => number) {}

  conv(input: string, output: string, cin: number, cout: number, k = 3): string {
    const fan = cin * k * k;
    this.initializers.push(floatTensor(`${output}.w`, [cout, cin, k, k], randomWeights(cout * fan, Math.sqrt(6 / fan), this.random)));
    this.initializers.push(floatTensor(`${output}.b`, [cout], randomWeights(cout, 0.1, this.random)));
    const pad = (k - 1) >> 1;
    this.nodes.push(node('Conv', [input, `${output}.w`, `${output}.b`], [output], { kernel_shape: [k, k], pads: [pad, pad, pad, pad] }));
    return output;
  }

  gemm(input: string, output: string, fin: number, fout: number): string {
    this.initializers.push(floatTensor(`${output}.w`, [fout, fin], randomWeights(fout * fin, Math.sqrt(6 / fin), this.random)));
    this.initializers.push(floatTensor(`${output}.b`, [fout], randomWeights(fout, 0.1, this.random)));
    this.nodes.push(node('Gemm', [input, `${output}.w`, `${output}.b`], [output], { transB: 1 }));
    return output;
  }

  op(opType: string, inputs: string[], output: string, attrs: Record<string, number | number[]> = {}): string {
    this.nodes.push(node(opType, inputs, [output], attrs));
    return output;
  }

  model(input: string, inputDims: number[], output: string, classes: number): ModelProto {
    return model(graph({
      name: 'built', nodes: this.nodes, initializers: this.initializers,
      inputs: [valueInfo(input, ElemType.FLOAT, ['N', ...inputDims])],
      outputs: [valueInfo(output, ElemType.FLOAT, ['N', classes])],
    }));
  }
}

/**
 * input [N,3,8,8] → conv 3→8, relu ("stem") → residual block: conv, relu ("block.relu"),
 * conv ("block.conv2"), Add with the stem ("block.sum") → relu ("block.out") → MaxPool
 * ("pool") → flatten ("flat", 128) → Gemm → logits [N,5]. Seeded random weights; no
 * global pooling, so random inputs still get different answers.
 */
export function residualCnn(seed = 7): ModelProto {
  const b = new GraphBuilder(rng(seed));
  const stem = b.op('Relu', [b.conv('input', 'stem.conv', 3, 8)], 'stem');
  const mid = b.op('Relu', [b.conv(stem, 'block.conv1', 8, 8)], 'block.relu');
  const sum = b.op('Add', [b.conv(mid, 'block.conv2', 8, 8), stem], 'block.sum');
  const out = b.op('Relu', [sum], 'block.out');
  const pooled = b.op('MaxPool', [out], 'pool', { kernel_shape: [2, 2], strides: [2, 2] });
  const flat = b.op('Flatten', [pooled], 'flat');
  b.gemm(flat, 'logits', 128, 5);
  return b.model('input', [3, 8, 8], 'logits', 5);
}

export function saveOnnx(file: string, m: ModelProto): string {
  fs.writeFileSync(file, writeModel(m));
  return file;
}
