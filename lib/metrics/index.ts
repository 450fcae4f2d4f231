export { FleetStats, fleetOfProcess, outcomeOf } from './fleet';
export type { GatewaySummary, EdgeLinkSnapshot, Outcome } from './fleet';
export { SlidingWindow, quantile } from './window';
export { LATENCY_BUCKETS_S, FRAME_BYTES_BUCKETS } from './prometheus';
