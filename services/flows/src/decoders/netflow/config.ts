/**
 * Settings of the NetFlow/IPFIX decoder: one TypeBox schema with defaults, for the collector's config section.
 * Every limit bounds memory that a misbehaving or hostile exporter could otherwise grow without end.
 */

import { ConfigError } from '@kansoku/kit/errors';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const netflowDecoderSchema = Type.Object({
  defaultSamplingRate: Type.Integer({
    default: 1,
    minimum: 1,
    maximum: 0xffffffff,
    description:
      'Sampling rate applied when neither the record nor the options data of its sampler gives one (1 = unsampled)',
  }),
  maxExporters: Type.Integer({
    default: 4096,
    minimum: 1,
    description: 'Exporters whose templates are kept; the least recently heard one is forgotten beyond it',
  }),
  maxTemplatesPerExporter: Type.Integer({
    default: 1024,
    minimum: 1,
    description:
      'Templates and options templates kept per exporter (all its domains); least recently used evicted',
  }),
  maxDomainsPerExporter: Type.Integer({
    default: 256,
    minimum: 1,
    description: 'Observation domains / source ids tracked per exporter; least recently used evicted',
  }),
  maxPendingSetsPerDomain: Type.Integer({
    default: 32,
    minimum: 0,
    description: 'Data sets held per exporter and domain while their template is unknown (0 = drop at once)',
  }),
  pendingSetTimeoutMs: Type.Integer({
    default: 60_000,
    minimum: 0,
    description: 'How long a held data set waits for its template before it is dropped',
  }),
  maxSamplersPerDomain: Type.Integer({
    default: 256,
    minimum: 1,
    description: 'Sampler ids (from options data) remembered per exporter and domain',
  }),
});

export type NetflowDecoderConfig = Static<typeof netflowDecoderSchema>;

/** The schema's defaults, overridden by `options`; throws ConfigError naming the first bad key. */
export function resolveNetflowDecoderConfig(
  options: Partial<NetflowDecoderConfig> = {},
): NetflowDecoderConfig {
  const merged: Record<string, unknown> = Value.Default(netflowDecoderSchema, {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) merged[key] = value;
  }
  const firstError = Value.Errors(netflowDecoderSchema, merged).First();
  if (firstError !== undefined) {
    const key = firstError.path.replace(/^\//, '').replace(/\//g, '.') || 'netflowDecoder';
    throw new ConfigError(key, firstError.message);
  }
  return merged as NetflowDecoderConfig;
}
