/**
 * Detections: what a streaming detector in a processor concludes (a DDoS toward an address, an exporter gone
 * silent, an origin AS change). Detectors emit them through this interface; the alerting engine consumes them
 * beside its scheduled rules, and owns fingerprints, pending/firing/resolved states and delivery. On NATS a
 * detection travels as JSON on `kansoku.detections.<domain>.<name>`.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage } from './errors.ts';
import { sharedCounter } from './metrics.ts';
import type { Nats } from './nats.ts';

export type DetectionSeverity = 'critical' | 'warning' | 'info';

export interface Detection {
  /** Domain that detected it: flows, bgp, dns, rtp, threats. */
  domain: string;
  /** kebab-case kind, e.g. volumetric-ddos, exporter-silent. */
  name: string;
  severity: DetectionSeverity;
  /** `firing` while the condition holds (repeated as it is re-evaluated), `resolved` once when it ends. */
  status: 'firing' | 'resolved';
  /** What identifies one occurrence (e.g. { destination: '203.0.113.7' }); with domain and name, the identity. */
  labels: Record<string, string>;
  /** For people: summary and description. */
  annotations: Record<string, string>;
  /** Milliseconds since the epoch. */
  startsAt: number;
  /** Set when resolved. */
  endsAt?: number;
  /** The measured value that crossed the bound, and the bound. */
  value: number;
  threshold: number;
}

export interface DetectionEmitter {
  emit(detection: Detection): void;
}

export function detectionSubject(detection: Pick<Detection, 'domain' | 'name'>): string {
  return `kansoku.detections.${detection.domain}.${detection.name}`;
}

/** Publishes detections on NATS (core publish: the engine subscribes; a detector never blocks on it). */
export function createNatsDetectionEmitter(
  nats: Nats,
  deps: { log: Logger; metrics: Registry },
): DetectionEmitter {
  const emitted = sharedCounter(deps.metrics, {
    name: 'kansoku_detections_total',
    help: 'Detections emitted by streaming detectors',
    labelNames: ['domain', 'name', 'status'],
  });
  return {
    emit(detection) {
      emitted.inc({ domain: detection.domain, name: detection.name, status: detection.status });
      try {
        nats.connection().publish(detectionSubject(detection), JSON.stringify(detection));
      } catch (error) {
        deps.log.warn({ err: errorMessage(error), detection: detection.name }, 'detection not published');
      }
    },
  };
}
