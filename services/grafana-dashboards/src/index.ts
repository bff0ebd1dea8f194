export * from './builder.ts';
export * from './generate.ts';
export * from './registry.ts';
export * from './requests.ts';
