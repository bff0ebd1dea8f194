/**
 * The builder alone, for domain packages' dashboard.ts: no registry, so importing it from a domain
 * that the registry itself imports makes no module cycle.
 */
export * from './dashboard.ts';
export * from './infinity.ts';
export * from './panels.ts';
export * from './variables.ts';
