/**
 * An exporter falling silent: one that was sending (at least `minRecordsPerMinute` on average) and has sent
 * nothing for `silentAfterSeconds`. It fires once and resolves when the exporter sends again. Exporters that
 * send rarely never fire (no baseline to lose). The exporter map is bounded (least recently heard evicted).
 */
import type { Detection, DetectionEmitter } from '@kansoku/kit';
import { Type } from '@sinclair/typebox';

export const exporterSilenceSchema = Type.Object({
  silentAfterSeconds: Type.Integer({ default: 120, minimum: 10 }),
  minRecordsPerMinute: Type.Number({ default: 10, minimum: 0 }),
  maxExporters: Type.Integer({ default: 10_000, minimum: 1 }),
});

export interface ExporterSilenceConfig {
  silentAfterSeconds: number;
  minRecordsPerMinute: number;
  maxExporters: number;
}

interface ExporterState {
  firstSeen: number;
  lastSeen: number;
  /** Records per minute, exponentially averaged over active minutes. */
  ratePerMinute: number;
  minuteStart: number;
  minuteRecords: number;
  silentSince: number | undefined;
}

export interface ExporterSilenceDetector {
  observe(exporter: string, timeMs: number): void;
  /** Checks for silence as of `nowMs` (a timer calls it: silence sends no records to drive time). */
  check(nowMs: number): void;
  exporters(): number;
}

export function createExporterSilenceDetector(
  config: ExporterSilenceConfig,
  deps: { emitter: DetectionEmitter },
): ExporterSilenceDetector {
  const exporters = new Map<string, ExporterState>();
  const silentAfterMs = config.silentAfterSeconds * 1000;

  function detection(
    exporter: string,
    s: ExporterState,
    status: 'firing' | 'resolved',
    nowMs: number,
  ): Detection {
    return {
      domain: 'flows',
      name: 'exporter-silent',
      severity: 'warning',
      status,
      labels: { exporter },
      annotations: {
        summary: `Exporter ${exporter} stopped sending flows`,
        description: `No record since ${new Date(s.lastSeen).toISOString()}; it sent about ${s.ratePerMinute.toFixed(0)} records/min before.`,
      },
      startsAt: s.silentSince ?? s.lastSeen,
      ...(status === 'resolved' ? { endsAt: nowMs } : {}),
      value: (nowMs - s.lastSeen) / 1000,
      threshold: config.silentAfterSeconds,
    };
  }

  return {
    observe(exporter, timeMs) {
      let s = exporters.get(exporter);
      if (s) {
        exporters.delete(exporter); // re-insert: the map's order is least recently heard first
      } else {
        if (exporters.size >= config.maxExporters) {
          const oldest = exporters.keys().next().value;
          if (oldest !== undefined) exporters.delete(oldest);
        }
        s = {
          firstSeen: timeMs,
          lastSeen: timeMs,
          ratePerMinute: 0,
          minuteStart: timeMs,
          minuteRecords: 0,
          silentSince: undefined,
        };
      }
      exporters.set(exporter, s);
      if (s.silentSince !== undefined) {
        deps.emitter.emit(detection(exporter, s, 'resolved', timeMs));
        s.silentSince = undefined;
        s.minuteStart = timeMs;
        s.minuteRecords = 0;
      }
      if (timeMs - s.minuteStart >= 60_000) {
        // The first full minute sets the rate; later ones move it gently.
        s.ratePerMinute =
          s.ratePerMinute === 0 ? s.minuteRecords : 0.7 * s.ratePerMinute + 0.3 * s.minuteRecords;
        s.minuteStart = timeMs;
        s.minuteRecords = 0;
      }
      s.minuteRecords++;
      s.lastSeen = Math.max(s.lastSeen, timeMs);
    },
    check(nowMs) {
      for (const [exporter, s] of exporters) {
        if (s.silentSince !== undefined || nowMs - s.lastSeen < silentAfterMs) continue;
        // An exporter heard for less than a minute has its partial minute as its rate.
        const rate = s.ratePerMinute > 0 ? s.ratePerMinute : s.minuteRecords;
        if (rate < config.minRecordsPerMinute) continue;
        s.silentSince = s.lastSeen + silentAfterMs;
        deps.emitter.emit(detection(exporter, s, 'firing', nowMs));
      }
    },
    exporters: () => exporters.size,
  };
}
