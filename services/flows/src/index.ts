export * from './module.ts';
export * from './processor.ts';
export * from './queries.ts';
export * from './tables.ts';
