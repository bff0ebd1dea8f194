export * from './processor.ts';
export * from './queries.ts';
export * from './tables.ts';
export * from './module.ts';
