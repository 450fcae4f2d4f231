// The project's ONNX protobuf codec against protobufjs (a dev dependency kept for this check)
// on every model in the repository: exporter-written files re-encode byte for byte, and both
// libraries read each other's output to the same message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { readModel, writeModel, node, graph, model, valueInfo, floatTensor, int64Tensor, ElemType, toNumber } from '../lib/split/onnx-proto';
import { decodeMessage, encodeMessage, Int64Value, ProtoError } from '../lib/split/proto-codec';
import { parseProto } from '../lib/split/proto-schema';

const REPO = path.resolve(__dirname, '..', '..');
const PROTO = path.join(REPO, 'lib', 'split', 'onnx.proto');
const reference = protobuf.loadSync(PROTO).lookupType('onnx.ModelProto');
const schema = parseProto(fs.readFileSync(PROTO, 'utf8'));
const asObject = (bytes: Uint8Array) => reference.toObject(reference.decode(bytes), { longs: String, bytes: String, defaults: false });

function onnxFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist' ? [] : onnxFiles(p);
    return e.name.endsWith('.onnx') ? [p] : [];
  });
}

test('every ONNX file in the repository round-trips byte for byte and reads as protobufjs reads it', () => {
  const files = [...onnxFiles(path.join(REPO, 'models')), ...onnxFiles(path.join(REPO, 'test', 'models'))];
  assert.ok(files.length >= 20, `found ${files.length} models`);
  for (const file of files) {
    const bytes = fs.readFileSync(file);
    const ours = readModel(bytes, file);
    assert.ok(Buffer.from(writeModel(ours)).equals(bytes), `${path.relative(REPO, file)} re-encodes to the same bytes`);
    assert.deepEqual(asObject(writeModel(ours)), asObject(bytes), file);
  }
});

test('constructed models encode as protobufjs encodes them, negative and 2^63-1 int64s exact', () => {
  const big = new Int64Value(2n ** 63n - 1n);
  const g = graph({
    name: 'g',
    nodes: [node('Slice', ['x', 's', 'e'], ['y'], { axes: [0, -1] }), node('LeakyRelu', ['y'], ['z'], { alpha: 0.25, note: 'ü' })],
    inputs: [valueInfo('x', ElemType.FLOAT, ['N', 3])],
    outputs: [valueInfo('z', ElemType.FLOAT, ['N', 3])],
    initializers: [int64Tensor('s', [-1]), { ...int64Tensor('e', [0]), int64Data: [big] }, floatTensor('w', [2], Float32Array.of(1.5, -2))],
  });
  const m = model(g);
  const bytes = writeModel(m);
  const theirs = reference.encode(reference.fromObject({ ...m, graph: { ...g, initializer: g.initializer.map((t) => ({ ...t, int64Data: t.int64Data?.map((v) => (v instanceof Int64Value ? v.value.toString() : v)) })) } })).finish();
  assert.deepEqual(asObject(bytes), asObject(theirs));
  const back = readModel(bytes);
  const e = back.graph!.initializer[1].int64Data![0];
  assert.ok(e instanceof Int64Value && e.value === 2n ** 63n - 1n);
  assert.equal(toNumber(back.graph!.initializer[0].int64Data![0]), -1);
  assert.deepEqual(back.graph!.node[0].attribute[0].ints, [0, -1]);
  assert.equal(back.graph!.node[1].domain, '', 'absent strings read as protobufjs defaults');
  assert.equal(back.graph!.node[1].attribute[0].f, 0.25);
});

test('unknown fields survive a round trip; truncated input is refused', () => {
  const known = encodeMessage(schema, 'onnx.OperatorSetIdProto', { domain: 'ai.x', version: 3 });
  const withUnknown = Buffer.concat([known, Buffer.from([0x98, 0x06, 0x2a])]); // field 99, varint 42
  const decoded = decodeMessage(schema, 'onnx.OperatorSetIdProto', withUnknown);
  assert.equal(decoded.domain, 'ai.x');
  assert.ok(Buffer.from(encodeMessage(schema, 'onnx.OperatorSetIdProto', decoded)).equals(withUnknown));
  assert.throws(() => decodeMessage(schema, 'onnx.OperatorSetIdProto', known.subarray(0, known.length - 1)), ProtoError);
  assert.throws(() => readModel(Buffer.from('not a model at all')), /not an ONNX model/);
});
