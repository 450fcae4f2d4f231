export * from './policy';
export * from './risk';
export * from './confseq';
export * from './guard';
export * from './ledger';
export * from './promise';
export * from './drift';
