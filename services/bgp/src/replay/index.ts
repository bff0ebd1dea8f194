export * from './mrt-mapping.ts';
export * from './mrt-replay.ts';
export { mrtReplayer } from './replayer.ts';
