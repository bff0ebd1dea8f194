/**
 * What the DNS detectors share: tumbling windows driven by record time, and episodes per key that fire after
 * `forWindows` windows in a row above their bound and resolve after `resolveWindows` below. While an episode
 * fires it is re-emitted every window (the alerting engine's contract: firing repeats, resolved is sent once).
 */
import type { Detection, DetectionEmitter } from '@kansoku/kit';

export interface EpisodeConfig {
  forWindows: number;
  resolveWindows: number;
}

interface Episode<V> {
  above: number;
  below: number;
  firing: boolean;
  startsAt: number;
  peak: V;
}

export interface Episodes<V> {
  /** Records the keys above their bound in the window starting at `start` and emits what changed. */
  close(start: number, windowMs: number, above: Map<string, V>): void;
  firing(): number;
  isFiring(key: string): boolean;
}

export function createEpisodes<V extends { value: number }>(
  config: EpisodeConfig,
  deps: {
    emitter: DetectionEmitter;
    detection(
      key: string,
      peak: V,
      status: 'firing' | 'resolved',
      startsAt: number,
    ): Omit<Detection, 'startsAt'>;
  },
): Episodes<V> {
  const episodes = new Map<string, Episode<V>>();
  return {
    close(start, windowMs, above) {
      for (const [key, value] of above) {
        let e = episodes.get(key);
        if (!e) {
          e = { above: 0, below: 0, firing: false, startsAt: start, peak: value };
          episodes.set(key, e);
        }
        e.above++;
        e.below = 0;
        if (value.value >= e.peak.value) e.peak = value;
        if (e.above >= config.forWindows) {
          e.firing = true;
          deps.emitter.emit({ ...deps.detection(key, e.peak, 'firing', e.startsAt), startsAt: e.startsAt });
        }
      }
      for (const [key, e] of episodes) {
        if (above.has(key)) continue;
        if (!e.firing) {
          // A blip shorter than forWindows: forgotten.
          episodes.delete(key);
          continue;
        }
        e.below++;
        if (e.below >= config.resolveWindows) {
          deps.emitter.emit({
            ...deps.detection(key, e.peak, 'resolved', e.startsAt),
            startsAt: e.startsAt,
            endsAt: start + windowMs,
          });
          episodes.delete(key);
        }
      }
    },
    firing: () => [...episodes.values()].filter((e) => e.firing).length,
    isFiring: (key) => episodes.get(key)?.firing ?? false,
  };
}

/** Tumbling windows over record time: `observe` moves into the window of `timeMs`, closing the ones passed. */
export interface Windows {
  /** Closes every window that ended by `nowMs`. */
  advance(nowMs: number): void;
  /** Before adding a record at `timeMs`: starts the first window or closes the passed ones. */
  at(timeMs: number): void;
}

export function createWindows(
  windowMs: number,
  close: (start: number) => void,
  idle: () => boolean,
): Windows {
  let windowStart = -1;
  function advance(nowMs: number) {
    if (windowStart < 0) return;
    while (nowMs >= windowStart + windowMs) {
      close(windowStart);
      windowStart += windowMs;
      // Long idle gaps are skipped rather than closed window by window.
      if (idle() && nowMs >= windowStart + windowMs) windowStart = nowMs - (nowMs % windowMs);
    }
  }
  return {
    advance,
    at(timeMs) {
      if (windowStart < 0) windowStart = timeMs - (timeMs % windowMs);
      else if (timeMs >= windowStart + windowMs) advance(timeMs);
    },
  };
}
