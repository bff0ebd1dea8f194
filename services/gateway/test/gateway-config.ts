import { Value } from '@sinclair/typebox/value';
import { type GatewayConfig, gatewaySection } from '../src/config.ts';

/** The gateway section with its defaults, as the config loader gives it, plus test overrides. */
export function gatewayTestConfig(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  const defaults = Value.Default(gatewaySection.schema, {}) as GatewayConfig;
  return { ...defaults, host: '127.0.0.1', port: 0, ...overrides };
}
