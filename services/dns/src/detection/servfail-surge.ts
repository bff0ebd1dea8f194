/**
 * SERVFAIL surge at a resolver: per window and resolver, the SERVFAIL answers per second and their share of
 * all answers. A resolver fires when both are above their bounds for `forWindows` windows in a row (a rate
 * floor keeps a quiet resolver's three failures from paging; a share bound keeps a busy resolver's normal
 * failures quiet). The zones with the most SERVFAILs go in the description: usually one broken delegation or
 * a DNSSEC failure is behind it.
 */
import type { DetectionEmitter } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { createEpisodes, createWindows } from './episodes.ts';

export const servfailSurgeSchema = Type.Object({
  windowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
  minServfailPerSecond: Type.Number({ default: 5, minimum: 0 }),
  minShare: Type.Number({ default: 0.05, minimum: 0, maximum: 1, description: 'SERVFAIL share of answers' }),
  forWindows: Type.Integer({ default: 2, minimum: 1 }),
  resolveWindows: Type.Integer({ default: 2, minimum: 1 }),
  maxZonesPerResolver: Type.Integer({ default: 10_000, minimum: 10 }),
});

export interface ServfailSurgeConfig {
  windowSeconds: number;
  minServfailPerSecond: number;
  minShare: number;
  forWindows: number;
  resolveWindows: number;
  maxZonesPerResolver: number;
}

interface ResolverWindow {
  answers: number;
  servfail: number;
  zones: Map<string, number>;
}

interface Peak {
  value: number;
  share: number;
  topZones: string;
}

export interface ServfailSurgeDetector {
  observeAnswer(resolver: string, zone: string, rcode: number, timeMs: number): void;
  advance(nowMs: number): void;
  stats(): { resolvers: number; firing: number };
}

export function createServfailSurgeDetector(
  config: ServfailSurgeConfig,
  deps: { emitter: DetectionEmitter },
): ServfailSurgeDetector {
  const windowMs = config.windowSeconds * 1000;
  let current = new Map<string, ResolverWindow>();

  const episodes = createEpisodes<Peak>(config, {
    emitter: deps.emitter,
    detection: (resolver, peak, status) => ({
      domain: 'dns',
      name: 'servfail-surge',
      severity: 'warning',
      status,
      labels: { resolver },
      annotations: {
        summary: `SERVFAIL surge at resolver ${resolver || '(unnamed)'}`,
        description: `Peak ${peak.value.toFixed(1)} SERVFAIL/s, ${(peak.share * 100).toFixed(1)}% of answers (bounds ${config.minServfailPerSecond}/s and ${(config.minShare * 100).toFixed(1)}%). Top zones: ${peak.topZones}.`,
      },
      value: peak.value,
      threshold: config.minServfailPerSecond,
    }),
  });

  function close(start: number) {
    const above = new Map<string, Peak>();
    for (const [resolver, w] of current) {
      const rate = w.servfail / config.windowSeconds;
      const share = w.answers > 0 ? w.servfail / w.answers : 0;
      if (rate >= config.minServfailPerSecond && share >= config.minShare) {
        const topZones = [...w.zones.entries()]
          .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
          .slice(0, 3)
          .map(([zone, n]) => `${zone} (${n})`)
          .join(', ');
        above.set(resolver, { value: rate, share, topZones });
      }
    }
    episodes.close(start, windowMs, above);
    current = new Map();
  }

  const windows = createWindows(windowMs, close, () => current.size === 0 && episodes.firing() === 0);

  return {
    observeAnswer(resolver, zone, rcode, timeMs) {
      windows.at(timeMs);
      let w = current.get(resolver);
      if (!w) {
        w = { answers: 0, servfail: 0, zones: new Map() };
        current.set(resolver, w);
      }
      w.answers++;
      if (rcode !== 2) return;
      w.servfail++;
      const n = w.zones.get(zone);
      if (n !== undefined) w.zones.set(zone, n + 1);
      else if (w.zones.size < config.maxZonesPerResolver) w.zones.set(zone, 1);
    },
    advance: (now) => windows.advance(now),
    stats: () => ({ resolvers: current.size, firing: episodes.firing() }),
  };
}
