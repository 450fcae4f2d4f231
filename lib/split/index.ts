// Splitting a user's ONNX model into a bundle (docs/bring-your-own-model.md).
export { splitModel, firstSample, VerifyError } from './split-model';
export { setOrtLogSeverity } from './probe';
export type { SplitOptions, SplitReport } from './split-model';
export { openSourceModel, listCandidates } from './source-model';
export type { SourceModel, CandidateTensor } from './source-model';
export type { InputSpec } from './input-spec';
export { CutError, GraphIndex, planCut, cutModel, candidateCuts } from './graph-cut';
export { readCalibrationSet, parseNpy, sourceFor, SampleError } from './calibration-set';
export { calibrateQuant, calibrateRate, countSymbols, symbolShapeFor } from './calibrate';
export { readModel, writeModel, OnnxFormatError } from './onnx-proto';
