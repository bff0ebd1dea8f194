// Public API of @kansoku/bgp. The BMP decoder (src/decoders/bmp/) adds its export line here.
export * from './decoders/bgp/index.ts';
export * from './decoders/bmp/index.ts';
export * from './decoders/mrt/index.ts';
export { bgpModule, bgpStationSection } from './module.ts';
export * from './replay/index.ts';
export * from './station/index.ts';
