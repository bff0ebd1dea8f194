/**
 * One client's query rate far above its own baseline: per window, each client's queries per second against an
 * exponential moving average of its past windows (windows it was silent in count as zero). A client fires when
 * its rate exceeds max(minQps, factor × baseline) for `forWindows` windows in a row — a new or usually quiet
 * client therefore fires once above minQps (an infected host, a forwarder gone wild), a busy forwarder only at
 * `factor` times its usual rate. Baselines learn only from windows that did not fire, and are kept only for
 * clients whose rate could ever matter (rate × factor ≥ minQps): at the report's ~0.08 q/s per source that is
 * a small minority of millions of clients. Both the window's client map and the baselines are capped.
 */
import type { DetectionEmitter } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';
import { createEpisodes, createWindows } from './episodes.ts';

export const clientRateSpikeSchema = Type.Object({
  windowSeconds: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
  minQps: Type.Number({ default: 20, minimum: 0, description: 'No client below this rate fires' }),
  factor: Type.Number({ default: 10, minimum: 1, description: 'Times its baseline that counts as a spike' }),
  forWindows: Type.Integer({ default: 2, minimum: 1 }),
  resolveWindows: Type.Integer({ default: 2, minimum: 1 }),
  baselineAlpha: Type.Number({ default: 0.1, exclusiveMinimum: 0, maximum: 1 }),
  learningSeconds: Type.Integer({
    default: 600,
    minimum: 0,
    description: 'After a start, windows only teach',
  }),
  maxWindowClients: Type.Integer({ default: 2_000_000, minimum: 100 }),
  maxBaselines: Type.Integer({ default: 500_000, minimum: 10 }),
});

export interface ClientRateSpikeConfig {
  windowSeconds: number;
  minQps: number;
  factor: number;
  forWindows: number;
  resolveWindows: number;
  baselineAlpha: number;
  learningSeconds: number;
  maxWindowClients: number;
  maxBaselines: number;
}

interface Baseline {
  qps: number;
  /** Start of the last window it learned from. */
  at: number;
}

export interface ClientRateSpikeDetector {
  observe(client: string, timeMs: number): void;
  advance(nowMs: number): void;
  stats(): { clients: number; baselines: number; dropped: number; firing: number };
}

export function createClientRateSpikeDetector(
  config: ClientRateSpikeConfig,
  deps: { emitter: DetectionEmitter },
): ClientRateSpikeDetector {
  const windowMs = config.windowSeconds * 1000;
  let current = new Map<string, number>();
  const baselines = new Map<string, Baseline>();
  let firstWindow = -1;
  let dropped = 0;

  const episodes = createEpisodes<{ value: number; baseline: number }>(config, {
    emitter: deps.emitter,
    detection: (client, peak, status) => ({
      domain: 'dns',
      name: 'client-rate-spike',
      severity: 'warning',
      status,
      labels: { client },
      annotations: {
        summary: `DNS client ${client} queries far above its baseline`,
        description: `Peak ${peak.value.toFixed(1)} queries/s over ${config.windowSeconds} s windows; baseline ${peak.baseline.toFixed(2)} q/s (fires above max(${config.minQps}, ${config.factor}× baseline)).`,
      },
      value: peak.value,
      threshold: Math.max(config.minQps, config.factor * peak.baseline),
    }),
  });

  /** The baseline as of window `start`: decayed for the windows the client was silent in. */
  function baselineAt(b: Baseline | undefined, start: number): number {
    if (!b) return 0;
    const missed = Math.max(0, Math.round((start - b.at) / windowMs) - 1);
    return b.qps * (1 - config.baselineAlpha) ** missed;
  }

  function learn(client: string, known: Baseline | undefined, qps: number, start: number) {
    const old = baselineAt(known, start);
    const next = known ? (1 - config.baselineAlpha) * old + config.baselineAlpha * qps : qps;
    if (known)
      baselines.delete(client); // re-inserted last: Map order is recency, the oldest goes first
    else if (baselines.size >= config.maxBaselines) {
      const oldest = baselines.keys().next().value;
      if (oldest !== undefined) baselines.delete(oldest);
    }
    baselines.set(client, { qps: next, at: start });
  }

  function close(start: number) {
    const learning = start - firstWindow < config.learningSeconds * 1000;
    const above = new Map<string, { value: number; baseline: number }>();
    for (const [client, count] of current) {
      const qps = count / config.windowSeconds;
      const known = baselines.get(client);
      const baseline = baselineAt(known, start);
      if (!learning && qps > Math.max(config.minQps, config.factor * baseline)) {
        above.set(client, { value: qps, baseline });
        continue;
      }
      if (!episodes.isFiring(client) && (known || qps * config.factor >= config.minQps)) {
        learn(client, known, qps, start);
      }
    }
    episodes.close(start, windowMs, above);
    current = new Map();
  }

  const windows = createWindows(windowMs, close, () => current.size === 0 && episodes.firing() === 0);

  return {
    observe(client, timeMs) {
      if (firstWindow < 0) firstWindow = timeMs - (timeMs % windowMs);
      windows.at(timeMs);
      const count = current.get(client);
      if (count !== undefined) current.set(client, count + 1);
      else if (current.size >= config.maxWindowClients) dropped++;
      else current.set(client, 1);
    },
    advance: (now) => windows.advance(now),
    stats: () => ({ clients: current.size, baselines: baselines.size, dropped, firing: episodes.firing() }),
  };
}
