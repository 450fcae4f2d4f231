// Cutting an ONNX graph at one tensor into a head (inputs → tensor) and a tail (tensor →
// outputs). A cut is only valid when the tensor is the sole thing the tail needs from the
// head's side: a skip connection (a residual Add, a concatenation) across the cut would have
// to travel too, and the bundle format carries exactly one split tensor per frame.
import type { Graph, ModelProto, NodeProto, ValueInfo } from './onnx-proto';
import { ElemType, graph as makeGraph, model as makeModel } from './onnx-proto';
import { elemTypeName, elemTypes } from './dtypes';

export type CutErrorCode = 'NO_TENSOR' | 'NOT_A_CUT' | 'CONSTANT' | 'IS_INPUT' | 'IS_OUTPUT' | 'NOT_FLOAT' | 'NO_OUTPUT' | 'UNUSED';

export class CutError extends Error {
  constructor(readonly code: CutErrorCode, message: string, readonly crossing: string[] = []) {
    super(message);
    this.name = 'CutError';
  }
}

/** Names a node reads: its inputs, plus outer-scope names its subgraphs (If, Loop, Scan) use. */
function readsOf(n: NodeProto): string[] {
  const names = n.input.filter((x) => x !== '');
  for (const a of n.attribute) for (const g of [a.g, ...(a.graphs ?? [])]) if (g) names.push(...outerReads(g));
  return names;
}

function outerReads(g: Graph): string[] {
  const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name ?? '')]);
  const reads: string[] = [];
  for (const n of g.node) {
    for (const x of readsOf(n)) if (!local.has(x)) reads.push(x);
    for (const y of n.output) local.add(y);
  }
  return reads;
}

/** Dependency facts about a graph, computed once and shared by every cut tried on it. */
export class GraphIndex {
  readonly producer = new Map<string, number>();
  readonly initializers = new Set<string>();
  readonly inputs: string[];
  /** Tensors that depend on no graph input (initializers, Constant chains): copied to either side. */
  readonly constant = new Set<string>();
  /** Element types known without running the graph (dtypes.ts). */
  readonly types: Map<string, number>;
  private readonly reads: string[][];

  constructor(readonly graph: Graph) {
    for (const t of graph.initializer) this.initializers.add(t.name ?? '');
    for (const s of graph.sparseInitializer ?? []) if (s.values?.name) this.initializers.add(s.values.name);
    this.inputs = graph.input.map((v) => v.name).filter((name) => !this.initializers.has(name));
    for (const name of this.initializers) this.constant.add(name);
    this.types = elemTypes(graph);
    this.reads = graph.node.map(readsOf);
    graph.node.forEach((n, i) => {
      for (const y of n.output) if (y) this.producer.set(y, i);
      if (this.reads[i].every((x) => this.constant.has(x))) for (const y of n.output) this.constant.add(y);
    });
  }

  has(tensor: string): boolean {
    return this.producer.has(tensor) || this.initializers.has(tensor) || this.inputs.includes(tensor);
  }

  /** Nodes needed to compute `targets`, not looking past `stop`. */
  ancestors(targets: string[], stop: string | null): Set<number> {
    const seen = new Set<number>();
    const todo = targets.filter((t) => t !== stop);
    while (todo.length) {
      const i = this.producer.get(todo.pop()!);
      if (i === undefined || seen.has(i)) continue;
      seen.add(i);
      for (const x of this.reads[i]) if (x !== stop) todo.push(x);
    }
    return seen;
  }

  readsOfNode(i: number): string[] { return this.reads[i]; }

  /** The op that makes `tensor` ('' for inputs and initializers). */
  opOf(tensor: string): string {
    const i = this.producer.get(tensor);
    return i === undefined ? '' : this.graph.node[i].opType;
  }

  /** Nodes that read `tensor`. */
  readersOf(tensor: string): NodeProto[] {
    return this.graph.node.filter((_, i) => this.reads[i].includes(tensor));
  }
}

export interface CutPlan { headNodes: number[]; tailNodes: number[] }

/**
 * Which nodes go to each side of a cut at `at` for `outputs`, or a CutError naming the
 * tensors that would cross the cut besides `at`.
 */
export function planCut(index: GraphIndex, at: string, outputs: string[]): CutPlan {
  if (!index.has(at)) throw new CutError('NO_TENSOR', `tensor "${at}" is not in the graph${suggest(index, at)}`);
  if (index.inputs.includes(at)) throw new CutError('IS_INPUT', `"${at}" is the model's input: there is nothing to put in the head`);
  if (index.constant.has(at)) throw new CutError('CONSTANT', `"${at}" is a constant (it depends on no input): cut at an activation`);
  if (outputs.includes(at)) {
    throw new CutError('IS_OUTPUT', `"${at}" is an output of the model: the tail would be empty and the cloud would compute nothing. Cut at a tensor before it`);
  }
  const type = index.types.get(at);
  if (type !== undefined && type !== ElemType.FLOAT) {
    throw new CutError('NOT_FLOAT', `"${at}" is ${elemTypeName(type)} (made by ${index.opOf(at) || 'the graph'}), not float32: ` +
      'only a float32 activation can be quantized and coded. Cut at a float tensor (split-dnn split --list shows them)');
  }
  const head = index.ancestors([at], null);
  const tail = index.ancestors(outputs, at);
  const isHeadSide = (x: string) => index.inputs.includes(x) || (!index.constant.has(x) && head.has(index.producer.get(x)!));
  const usesCut = [...tail].some((i) => index.readsOfNode(i).includes(at));
  if (!usesCut) throw new CutError('UNUSED', `${outputs.map((o) => `"${o}"`).join(', ')} do${outputs.length > 1 ? '' : 'es'} not depend on "${at}"`);
  const crossing = new Set<string>();
  for (const i of tail) {
    // Nodes on both sides are the ones a skip connection runs through; what they feed is what crosses.
    if (head.has(i) && !index.graph.node[i].output.every((y) => index.constant.has(y))) continue;
    for (const x of index.readsOfNode(i)) if (x !== at && isHeadSide(x)) crossing.add(x);
  }
  for (const y of outputs) if (y !== at && isHeadSide(y)) crossing.add(y);
  if (crossing.size) {
    const names = [...crossing];
    throw new CutError('NOT_A_CUT',
      `cutting at "${at}" does not separate the graph: the tail also needs ${names.map((n) => `"${n}"`).join(', ')} from before the cut ` +
      `(a skip connection across it). Cut before the branch starts or after it joins again (split-dnn split --list shows which cuts work).`, names);
  }
  const order = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return { headNodes: order(head), tailNodes: order(tail) };
}

/**
 * The full name of a tensor written as `--list` shows long names ("start…end"), when exactly
 * one tensor fits; any other name is returned as it is.
 */
export function resolveTensorName(index: GraphIndex, at: string): string {
  const [start, end, more] = at.split('…');
  if (end === undefined || more !== undefined || index.has(at)) return at;
  const fits = [...index.producer.keys()].filter((n) => n.startsWith(start) && n.endsWith(end) && n.length >= at.length);
  if (fits.length === 1) return fits[0];
  throw new CutError('NO_TENSOR', `"${at}" ${fits.length ? `fits ${fits.length} tensors (${fits.slice(0, 3).map((n) => `"${n}"`).join(', ')}…)` : 'fits no tensor'}: give the full name (split-dnn split --list --json prints them)`);
}

/** Tensors whose names contain what the user typed, to point at a typo. */
function suggest(index: GraphIndex, at: string): string {
  const needle = at.toLowerCase();
  const close = [...index.producer.keys()].filter((n) => n.toLowerCase().includes(needle) || needle.includes(n.toLowerCase())).slice(0, 5);
  return close.length ? `; did you mean ${close.map((n) => `"${n}"`).join(', ')}?` : ' (split-dnn split --list shows the candidates)';
}

/** The part of the graph made of `nodes`, reading `inputs` and producing `outputs`. */
function subgraph(index: GraphIndex, name: string, nodes: number[], inputs: ValueInfo[], outputs: ValueInfo[]): Graph {
  const g = index.graph;
  const used = new Set<string>();
  for (const i of nodes) { for (const x of index.readsOfNode(i)) used.add(x); for (const y of g.node[i].output) used.add(y); }
  for (const v of outputs) used.add(v.name);
  const inputNames = new Set(inputs.map((v) => v.name));
  // Initializers an old (IR < 4) model also lists as inputs stay listed, as in the original.
  const listedInitializers = g.input.filter((v) => index.initializers.has(v.name) && used.has(v.name) && !inputNames.has(v.name));
  return {
    ...makeGraph({
      name,
      nodes: nodes.map((i) => g.node[i]),
      inputs: [...inputs, ...listedInitializers],
      outputs,
      initializers: g.initializer.filter((t) => used.has(t.name ?? '')),
      valueInfo: g.valueInfo.filter((v) => used.has(v.name) && !inputNames.has(v.name) && !outputs.some((o) => o.name === v.name)),
    }),
    sparseInitializer: (g.sparseInitializer ?? []).filter((s) => used.has(s.values?.name ?? '')),
  };
}

export interface CutModels { head: ModelProto; tail: ModelProto; plan: CutPlan }

/**
 * Head and tail models of a cut. `cutInfo` is the split tensor's ValueInfo (type and shape
 * with a symbolic batch axis): the head's output and the tail's input.
 */
export function cutModel(source: ModelProto, index: GraphIndex, at: string, outputs: string[], cutInfo: ValueInfo): CutModels {
  const plan = planCut(index, at, outputs);
  const g = index.graph;
  const headInputs = g.input.filter((v) => index.inputs.includes(v.name) && plan.headNodes.some((i) => index.readsOfNode(i).includes(v.name)));
  const tailOutputs = outputs.map((name) => g.output.find((v) => v.name === name) ?? { name });
  const head = subgraph(index, `${g.name ?? 'graph'}_head`, plan.headNodes, headInputs, [cutInfo]);
  const tail = subgraph(index, `${g.name ?? 'graph'}_tail`, plan.tailNodes, [cutInfo], tailOutputs);
  return { head: makeModel(head, source), tail: makeModel(tail, source), plan };
}

export interface CandidateCut {
  name: string;
  op: string;
  /** Tensors besides this one that a cut here would have to carry; null when it separates. */
  crossing: string[] | null;
  /** The output does not depend on it (a side branch such as an unused exit). */
  unused: boolean;
  /** Why else a cut here is refused (a non-float tensor), or null. */
  refused: string | null;
}

/** Every tensor a cut could be tried at (activations in graph order), with why not if it fails. */
export function candidateCuts(index: GraphIndex, outputs: string[]): CandidateCut[] {
  const out: CandidateCut[] = [];
  for (const n of index.graph.node) {
    for (const y of n.output) {
      if (!y || index.constant.has(y) || outputs.includes(y)) continue;
      const cut: CandidateCut = { name: y, op: n.opType, crossing: null, unused: false, refused: null };
      try {
        planCut(index, y, outputs);
      } catch (err) {
        if (!(err instanceof CutError)) throw err;
        if (err.code === 'UNUSED') cut.unused = true;
        else if (err.code === 'NOT_A_CUT') cut.crossing = err.crossing;
        else cut.refused = err.code === 'NOT_FLOAT' ? `not float32 (${elemTypeName(index.types.get(y))})` : err.message;
      }
      out.push(cut);
    }
  }
  return out;
}
