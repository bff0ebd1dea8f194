/**
 * Settings of the sFlow decoder: one TypeBox schema with defaults. The limits bound the memory a flood of
 * spoofed agent addresses or sub-agent ids could otherwise grow.
 */

import { ConfigError } from '@kansoku/kit/errors';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const sflowDecoderSchema = Type.Object({
  maxAgents: Type.Integer({
    default: 4096,
    minimum: 1,
    description:
      'Agents whose sequence state and counters are kept; the least recently heard one is forgotten',
  }),
  maxSubAgentsPerAgent: Type.Integer({
    default: 256,
    minimum: 1,
    description:
      'Sub-agents whose datagram sequence is tracked per agent; the least recently heard is forgotten',
  }),
  discardedPackets: Type.Union([Type.Literal('keep'), Type.Literal('drop')], {
    default: 'keep',
    description:
      'Flow samples of packets the agent dropped (output interface format "discarded"): keep them as records ' +
      'with output interface 0, or drop them (they are counted either way)',
  }),
});

export type SflowDecoderConfig = Static<typeof sflowDecoderSchema>;

/** The schema's defaults, overridden by `options`; throws ConfigError naming the first bad key. */
export function resolveSflowDecoderConfig(options: Partial<SflowDecoderConfig> = {}): SflowDecoderConfig {
  const merged = Value.Default(sflowDecoderSchema, {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) merged[key] = value;
  }
  const firstError = Value.Errors(sflowDecoderSchema, merged).First();
  if (firstError !== undefined) {
    const key = firstError.path.replace(/^\//, '').replace(/\//g, '.') || 'sflowDecoder';
    throw new ConfigError(`sflowDecoder.${key}`, firstError.message);
  }
  return merged as SflowDecoderConfig;
}
