export { AttributeTable, attributeKey, parseAttributeKey, type RouteAttributes } from './attributes.ts';
export { LpmV4 } from './lpm-v4.ts';
export { loadRibFromMrt, type MrtLoadSummary } from './mrt-load.ts';
export { PeerRoutes } from './peer-routes.ts';
export { addressToWords, PrefixTable } from './prefix-table.ts';
export * from './rib.ts';
