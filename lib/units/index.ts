// Learned bottleneck units and an early exit for a user's bundle (split-dnn train-units).
export { trainUnits, Interrupted } from './train';
export type { TrainUnitsOptions, TrainUnitsReport } from './train';
export { listImages, splitImages, readFrames } from './images';
export { ProgressBar, stageFraction, eta } from './progress';
export type { ProgressEvent } from './progress';
export { writeNpy } from './npy';
