// Public API of @kansoku/bgp. The BMP decoder (src/decoders/bmp/) adds its export line here.
export * from './decoders/bgp/index.ts';
export * from './decoders/bmp/index.ts';
export * from './decoders/mrt/index.ts';
export { createBgpDetectors } from './detection/detectors.ts';
export { bgpModule, bgpStationSection } from './module.ts';
export { answerOriginAs, createOriginAsResponder } from './origin-as/responder.ts';
export { type BgpProcessorConfig, bgpProcessorSection } from './processor/config.ts';
export { createBgpProcessor } from './processor/processor.ts';
export { bgpQueries } from './queries.ts';
export * from './replay/index.ts';
export { loadRibFromMrt, Rib } from './rib/index.ts';
export * from './station/index.ts';
export { bgpMigrations } from './tables.ts';
