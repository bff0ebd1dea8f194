/**
 * NXDOMAIN surge of random-looking labels under one zone (random-subdomain / "water torture" attack): per
 * window and registered domain, the NXDOMAIN answers, how many distinct leftmost labels they asked, and how many
 * of those labels look machine-generated (labels.ts). A zone fires when, for `forWindows` windows in a row, its
 * NXDOMAIN rate is at least `minNxdomainPerSecond`, most of its NXDOMAIN names are distinct
 * (`minDistinctRatio`: a broken client repeating one typo is not an attack) and most labels look random
 * (`minRandomShare`). Memory: zones per window and labels remembered per zone are capped.
 */
import type { DetectionEmitter } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { createEpisodes, createWindows } from './episodes.ts';
import { randomLookingLabel } from './labels.ts';

export const randomSubdomainSchema = Type.Object({
  windowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
  minNxdomainPerSecond: Type.Number({ default: 10, minimum: 0 }),
  minDistinctRatio: Type.Number({ default: 0.5, minimum: 0, maximum: 1 }),
  minRandomShare: Type.Number({ default: 0.5, minimum: 0, maximum: 1 }),
  forWindows: Type.Integer({ default: 2, minimum: 1 }),
  resolveWindows: Type.Integer({ default: 2, minimum: 1 }),
  maxZones: Type.Integer({ default: 200_000, minimum: 10 }),
  maxLabelsPerZone: Type.Integer({ default: 2000, minimum: 10 }),
});

export interface RandomSubdomainConfig {
  windowSeconds: number;
  minNxdomainPerSecond: number;
  minDistinctRatio: number;
  minRandomShare: number;
  forWindows: number;
  resolveWindows: number;
  maxZones: number;
  maxLabelsPerZone: number;
}

interface ZoneWindow {
  nxdomain: number;
  random: number;
  labels: Set<string>;
}

interface Peak {
  value: number;
  distinctRatio: number;
  randomShare: number;
  examples: string[];
}

export interface RandomSubdomainDetector {
  /** One NXDOMAIN answer for `subdomain` (the labels left of `zone`) at `timeMs`. */
  observeNxdomain(zone: string, subdomain: string, timeMs: number): void;
  advance(nowMs: number): void;
  stats(): { zones: number; dropped: number; firing: number };
}

export function createRandomSubdomainDetector(
  config: RandomSubdomainConfig,
  deps: { emitter: DetectionEmitter },
): RandomSubdomainDetector {
  const windowMs = config.windowSeconds * 1000;
  let current = new Map<string, ZoneWindow>();
  let dropped = 0;

  const episodes = createEpisodes<Peak>(config, {
    emitter: deps.emitter,
    detection: (zone, peak, status) => ({
      domain: 'dns',
      name: 'random-subdomain-attack',
      severity: 'critical',
      status,
      labels: { zone },
      annotations: {
        summary: `Random-subdomain NXDOMAIN flood under ${zone}`,
        description: `Peak ${peak.value.toFixed(1)} NXDOMAIN/s under ${zone}; ${(peak.distinctRatio * 100).toFixed(0)}% distinct names, ${(peak.randomShare * 100).toFixed(0)}% random-looking labels (e.g. ${peak.examples.join(', ')}).`,
      },
      value: peak.value,
      threshold: config.minNxdomainPerSecond,
    }),
  });

  function close(start: number) {
    const above = new Map<string, Peak>();
    for (const [zone, w] of current) {
      const rate = w.nxdomain / config.windowSeconds;
      if (rate < config.minNxdomainPerSecond) continue;
      const distinctRatio = w.labels.size / Math.min(w.nxdomain, config.maxLabelsPerZone);
      const randomShare = w.random / w.nxdomain;
      if (distinctRatio >= config.minDistinctRatio && randomShare >= config.minRandomShare) {
        above.set(zone, { value: rate, distinctRatio, randomShare, examples: [...w.labels].slice(0, 3) });
      }
    }
    episodes.close(start, windowMs, above);
    current = new Map();
  }

  const windows = createWindows(windowMs, close, () => current.size === 0 && episodes.firing() === 0);

  return {
    observeNxdomain(zone, subdomain, timeMs) {
      windows.at(timeMs);
      let w = current.get(zone);
      if (!w) {
        if (current.size >= config.maxZones) {
          dropped++;
          return;
        }
        w = { nxdomain: 0, random: 0, labels: new Set() };
        current.set(zone, w);
      }
      w.nxdomain++;
      const dot = subdomain.indexOf('.');
      const label = dot < 0 ? subdomain : subdomain.slice(0, dot);
      if (randomLookingLabel(label)) w.random++;
      if (w.labels.size < config.maxLabelsPerZone) w.labels.add(subdomain);
    },
    advance: (now) => windows.advance(now),
    stats: () => ({ zones: current.size, dropped, firing: episodes.firing() }),
  };
}
