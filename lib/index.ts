// The package's programmatic API: everything the nodes use, for scripts and other hosts.
export * as model from './model';
export * as wire from './wire';
export * as codec from './codec';
export * as exit from './exit';
export { RateCodec } from './codec/rate-codec';
export { Outbox } from './link/outbox';
export { EdgeLink } from './link/edge-link';
export { CloudLink } from './link/cloud-link';
export { topics } from './link/topics';
export { RateController } from './rate/controller';
export { evaluate } from './eval/evaluate';
export { startEmbeddedBroker } from './broker/embedded';
