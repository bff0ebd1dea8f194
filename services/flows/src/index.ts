export * from './collector/index.ts';
export { createFlowsDetector, type FlowsDetectorConfig } from './detection/detector-service.ts';
export { createExporterSilenceDetector } from './detection/exporter-silence.ts';
export { createDdosDetector } from './detection/volumetric-ddos.ts';
export * from './module.ts';
export * from './processor.ts';
export * from './queries.ts';
export { createFlowsSimulator, type FlowsSimulator, type SimulatorConfig } from './simulator/simulator.ts';
export * from './tables.ts';
