// The encoder and decoder "units" of a plain 8-bit rate level: no learned layers, only the
// reshape between the split tensor and the [C, H, W] symbol layout. They are real ONNX
// files so the bundle runs through the same loader, nodes and evaluator as a trained bank.
import { ElemType, graph, int64Tensor, model, node, valueInfo, writeModel } from './onnx-proto';

function reshapeModel(name: string, input: string, from: number[], output: string, to: number[]): Uint8Array {
  const same = from.length === to.length && from.every((d, i) => d === to[i]);
  const nodes = same ? [node('Identity', [input], [output])] : [node('Reshape', [input, 'shape'], [output])];
  return writeModel(model(graph({
    name,
    nodes,
    inputs: [valueInfo(input, ElemType.FLOAT, ['N', ...from])],
    outputs: [valueInfo(output, ElemType.FLOAT, ['N', ...to])],
    initializers: same ? [] : [int64Tensor('shape', [-1, ...to])],
  })));
}

export const UNIT_IO = { features: 'features', latent: 'latent' } as const;

/** encoder: features [N, ...splitShape] → latent [N, C, H, W]; decoder: the way back. */
export function identityUnits(splitShape: number[], symbolShape: number[]): { encoder: Uint8Array; decoder: Uint8Array } {
  return {
    encoder: reshapeModel('encoder_8bit', UNIT_IO.features, splitShape, UNIT_IO.latent, symbolShape),
    decoder: reshapeModel('decoder_8bit', UNIT_IO.latent, symbolShape, UNIT_IO.features, splitShape),
  };
}
