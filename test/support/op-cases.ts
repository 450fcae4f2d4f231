// One small ONNX graph per operator the ONNX → PyTorch converter claims to run
// (models/train/byom/onnx_ops.py), with seeded random weights and inputs. onnxruntime
// computes the reference; test/onnx-torch-parity.test.ts compares.
import { ElemType, NodeProto, TensorProto, floatTensor, int64Tensor, graph, model, node, valueInfo, writeModel, AttrValue } from '../../lib/split/onnx-proto';
import { rng } from './onnx-build';

export interface OpCase { name: string; ops: string[]; onnx: Uint8Array; input: { dims: number[]; data: Float32Array } }

const random = rng(11);
const values = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
const f = (name: string, dims: number[], scale = 1) => floatTensor(name, dims, values(dims.reduce((a, b) => a * b, 1), scale));
const positive = (name: string, dims: number[]) => floatTensor(name, dims, Float32Array.from(values(dims.reduce((a, b) => a * b, 1)), (v) => Math.abs(v) + 0.5));
const i64 = int64Tensor;
const n = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}) => node(op, inputs, outputs, attrs);

function build(name: string, dims: number[], nodes: NodeProto[], inits: TensorProto[] = [], opset = 17): OpCase {
  const g = graph({
    name, nodes, initializers: inits,
    inputs: [valueInfo('x', ElemType.FLOAT, ['N', ...dims])],
    outputs: [{ name: 'y', type: { tensorType: { elemType: ElemType.FLOAT } } }],
  });
  const m = model(g);
  m.opsetImport = [{ domain: '', version: opset }];
  return { name, ops: [...new Set(nodes.map((x) => x.opType))], onnx: writeModel(m), input: { dims: [2, ...dims], data: values(2 * dims.reduce((a, b) => a * b, 1), 2) } };
}

const one = (op: string, attrs: Record<string, AttrValue> = {}, dims = [3, 6, 6], extra: string[] = [], inits: TensorProto[] = [], opset = 17) =>
  build(`${op}${Object.keys(attrs).length ? ` ${JSON.stringify(attrs)}` : ''}`, dims, [n(op, ['x', ...extra], ['y'], attrs)], inits, opset);

/** A Constant node whose value is a float tensor. */
function constant(output: string, t: TensorProto): NodeProto {
  return { input: [], output: [output], opType: 'Constant', name: `const_${output}`, attribute: [{ name: 'value', type: 4, t }] };
}

export function opCases(): OpCase[] {
  return [
    one('Conv', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, [3, 6, 6], ['w', 'b'], [f('w', [4, 3, 3, 3]), f('b', [4])]),
    one('Conv', { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], group: 3 }, [3, 7, 7], ['w'], [f('w', [6, 1, 3, 3])]),
    one('Conv', { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] }, [2, 8, 8], ['w'], [f('w', [2, 2, 3, 3])]),
    one('Conv', { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }, [2, 8, 8], ['w'], [f('w', [2, 2, 3, 3])]),
    one('ConvTranspose', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, [4, 5, 5], ['w', 'b'], [f('w', [4, 2, 3, 3]), f('b', [2])]),
    one('ConvTranspose', { kernel_shape: [2, 2], strides: [2, 2], group: 2 }, [4, 3, 3], ['w'], [f('w', [4, 1, 2, 2])]),
    one('BatchNormalization', { epsilon: 1e-3 }, [3, 4, 4], ['s', 'bb', 'mu', 'var'], [f('s', [3]), f('bb', [3]), f('mu', [3]), positive('var', [3])]),
    one('Relu'), one('Sigmoid'), one('Tanh'), one('HardSwish'), one('Exp'), one('Neg'), one('Erf'),
    one('HardSigmoid', { alpha: 0.25, beta: 0.4 }), one('LeakyRelu', { alpha: 0.1 }),
    one('Clip', {}, [3, 4, 4], ['lo', 'hi'], [floatTensor('lo', [], Float32Array.of(-0.5)), floatTensor('hi', [], Float32Array.of(1.5))]),
    one('Clip', {}, [3, 4, 4], ['', 'hi'], [floatTensor('hi', [], Float32Array.of(0.5))]),
    build('Sqrt of x*x + 0.5', [3, 4], [n('Mul', ['x', 'x'], ['sq']), n('Add', ['sq', 'half'], ['s']), n('Sqrt', ['s'], ['y'])], [floatTensor('half', [1], Float32Array.of(0.5))]),
    one('Add', {}, [3, 4, 4], ['b'], [f('b', [3, 1, 1])]), one('Sub', {}, [3, 4, 4], ['b'], [f('b', [4])]),
    one('Mul', {}, [3, 4, 4], ['b'], [f('b', [1, 4, 1])]), one('Div', {}, [3, 4, 4], ['b'], [positive('b', [3, 4, 4])]),
    build('Pow of |x|', [3, 4], [n('Relu', ['x'], ['r']), n('Pow', ['r', 'e'], ['y'])], [floatTensor('e', [], Float32Array.of(1.5))]),
    build('Concat', [3, 4, 4], [n('Relu', ['x'], ['r']), n('Concat', ['x', 'r', 'c'], ['y'], { axis: 1 })], [f('c', [2, 2, 4, 4])]),
    one('Resize', { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, [3, 4, 4], ['', 'sc'], [floatTensor('sc', [4], Float32Array.of(1, 1, 1.75, 1.75))]),
    one('Resize', { mode: 'nearest' }, [3, 4, 5], ['', 'sc'], [floatTensor('sc', [4], Float32Array.of(1, 1, 2, 2))]),
    one('Resize', { mode: 'linear' }, [3, 4, 5], ['', '', 'sz'], [i64('sz', [2, 3, 7, 9])]),
    one('Resize', { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, [3, 4, 4], ['', 'sc'], [floatTensor('sc', [4], Float32Array.of(1, 1, 2, 2))]),
    one('MaxPool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, [3, 7, 7]),
    one('MaxPool', { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, [3, 7, 7]),
    one('AveragePool', { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, [3, 7, 7]),
    one('AveragePool', { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 }, [3, 5, 5]),
    one('GlobalAveragePool'), one('GlobalMaxPool'), one('Flatten', { axis: 1 }), one('Flatten', { axis: 2 }),
    one('Reshape', {}, [3, 4, 4], ['shape'], [i64('shape', [0, 12, -1])]),
    one('Transpose', { perm: [0, 2, 3, 1] }),
    one('Gemm', { transB: 1, alpha: 0.5, beta: 1.5 }, [6], ['w', 'b'], [f('w', [4, 6]), f('b', [4])]),
    one('MatMul', {}, [3, 5], ['w'], [f('w', [5, 4])]),
    one('Softmax', { axis: 1 }, [5]), one('Softmax', {}, [3, 5]), one('LogSoftmax', { axis: -1 }, [5]),
    one('Softmax', { axis: 1 }, [3, 4], [], [], 11),
    one('ReduceMean', { axes: [2, 3], keepdims: 1 }), one('ReduceMax', { axes: [1], keepdims: 0 }),
    one('ReduceSum', { keepdims: 0 }, [3, 4, 4], ['ax'], [i64('ax', [1])]),
    build('Identity, Dropout, Cast', [3, 4], [n('Identity', ['x'], ['a']), n('Dropout', ['a'], ['b']), n('Cast', ['b'], ['y'], { to: 1 })]),
    build('Constant weight', [3, 4], [constant('k', f('kv', [3, 4])), n('Mul', ['x', 'k'], ['y'])]),
    // what exporters emit around a flatten: Shape -> Gather -> Unsqueeze -> Concat -> Reshape
    build('Shape, Gather, Unsqueeze, Concat, Reshape', [3, 4, 4], [
      n('Shape', ['x'], ['s']), n('Gather', ['s', 'zero'], ['b'], { axis: 0 }), n('Unsqueeze', ['b', 'ax0'], ['bu']),
      n('Concat', ['bu', 'minus1'], ['shape'], { axis: 0 }), n('Reshape', ['x', 'shape'], ['y'])],
    [{ ...i64('zero', [0]), dims: [] }, i64('ax0', [0]), i64('minus1', [-1])]),
    build('Slice, Squeeze, Unsqueeze', [3, 4, 4], [
      n('Slice', ['x', 'st', 'en', 'ax', 'sp'], ['s']), n('Unsqueeze', ['s', 'u'], ['t']), n('Squeeze', ['t', 'u'], ['y'])],
    [i64('st', [1, 0]), i64('en', [3, -1]), i64('ax', [1, 3]), i64('sp', [1, 2]), i64('u', [1])]),
  ];
}

/** A graph with an operator the converter does not run (for the fallback message). */
export function unsupportedCase(): OpCase {
  return one('LpNormalization', { axis: 1, p: 2 }, [3, 4]);
}
