export * from './bmp-mapping.ts';
export * from './clock.ts';
export * from './config.ts';
export * from './metrics.ts';
export * from './publisher.ts';
export * from './route-update-codec.ts';
export * from './route-updates.ts';
export * from './station.ts';
