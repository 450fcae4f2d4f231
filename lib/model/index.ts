export * from './manifest';
export * from './bundle';
export * from './tensor';
export * from './pool';
export * from './runtime';
export * from './registry';
export * from './preprocess';
export * from './samples';
