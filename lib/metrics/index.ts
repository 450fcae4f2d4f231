export { FleetStats, fleetOfProcess } from './fleet';
export type { GatewaySummary, EdgeLinkSnapshot, AnswerSeen } from './fleet';
export { outcomeOf, judge, answerFigures, answerKind } from './answers';
export type { Outcome, AnswerKind, AnswerFigures, AnyAnswer } from './answers';
export { SlidingWindow, quantile } from './window';
export { LATENCY_BUCKETS_S, FRAME_BYTES_BUCKETS } from './prometheus';
