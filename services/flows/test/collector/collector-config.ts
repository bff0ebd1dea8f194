import { Value } from '@sinclair/typebox/value';
import { type FlowsCollectorConfig, flowsCollectorSchema } from '../../src/collector/config.ts';

/** The schema's defaults with every port 0 (free ports) and no state file, then `overrides`. */
export function testCollectorConfig(overrides: Partial<FlowsCollectorConfig> = {}): FlowsCollectorConfig {
  const defaults = Value.Default(flowsCollectorSchema, {}) as FlowsCollectorConfig;
  return {
    ...defaults,
    netflowPort: 0,
    ipfixPort: 0,
    ipfixTcpPort: 0,
    sflowPort: 0,
    stateFile: '',
    ...overrides,
  };
}
