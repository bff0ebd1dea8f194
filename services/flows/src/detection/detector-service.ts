/**
 * The flows detector service: its own consumer group on the flow records (so detection never waits on the
 * warehouse), feeding the streaming detectors and emitting detections. State is in memory: after a restart the
 * DDoS baselines learn again (learningSeconds) and silence tracking starts over. Offsets are committed after
 * each batch is observed (at least once: a redelivered batch only nudges rates).
 *
 * Records carry their own time; detectors run on it, so a replayed capture is judged as it happened. When
 * records stop, a timer moves detector time on at the wall clock's pace from the last record's time.
 */
import { decodeFlowRecordBatch } from '@kansoku/contracts/flow-record-codec';
import type { FlowRecord } from '@kansoku/contracts/gen/kansoku/flows/v1/flows_pb';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import {
  type Component,
  Counter,
  type DetectionEmitter,
  errorMessage,
  Gauge,
  type KafkaConsumer,
  type Logger,
  type Registry,
} from '@kansoku/kit';
import { createExporterSilenceDetector, type ExporterSilenceConfig } from './exporter-silence.ts';
import { createDdosDetector, type DdosDetectorConfig } from './volumetric-ddos.ts';

export interface FlowsDetectorConfig {
  ddos: DdosDetectorConfig;
  exporterSilence: ExporterSilenceConfig;
  /** How often the timer moves detector time on when records stop. */
  tickMs: number;
}

export function createFlowsDetector(
  config: FlowsDetectorConfig,
  deps: { consumer: KafkaConsumer; emitter: DetectionEmitter; log: Logger; metrics: Registry },
): Component {
  const ddos = createDdosDetector(config.ddos, { emitter: deps.emitter });
  const silence = createExporterSilenceDetector(config.exporterSilence, { emitter: deps.emitter });
  let lastRecordMs = 0;
  let lastRecordWallMs = 0;
  let timer: NodeJS.Timeout | undefined;

  const records = new Counter({
    name: 'kansoku_flows_detector_records_total',
    help: 'Flow records observed by the detectors (observed), and Kafka messages that did not decode (malformed)',
    labelNames: ['outcome'],
    registers: [deps.metrics],
  });
  new Gauge({
    name: 'kansoku_flows_detector_state',
    help: 'Detector state sizes: destinations in the current window, prefixes with a baseline, firing, exporters',
    labelNames: ['what'],
    registers: [deps.metrics],
    collect() {
      const s = ddos.stats();
      this.set({ what: 'destinations' }, s.trackedDestinations);
      this.set({ what: 'baselines' }, s.baselines);
      this.set({ what: 'ddos_firing' }, s.firing);
      this.set({ what: 'exporters' }, silence.exporters());
    },
  });

  const observe = (record: FlowRecord) => {
    const timeMs = Number(record.timeReceivedNs / 1_000_000n);
    if (record.dstAddress.length > 0) {
      ddos.observe(formatIpAddress(record.dstAddress), Number(record.bytes), Number(record.packets), timeMs);
    }
    if (record.exporterAddress.length > 0) silence.observe(formatIpAddress(record.exporterAddress), timeMs);
    if (timeMs > lastRecordMs) lastRecordMs = timeMs;
  };

  /** Detector time: the last record's time, moved on by the wall clock since it arrived. */
  const detectorNow = () => lastRecordMs + (Date.now() - lastRecordWallMs);

  return {
    name: 'flows-detector',
    async start() {
      await deps.consumer.start({
        onBatch: async (batch) => {
          let malformed = 0;
          let observed = 0;
          for (const message of batch.messages) {
            let records: FlowRecord[];
            try {
              records = decodeFlowRecordBatch(message.value);
            } catch {
              malformed++;
              continue;
            }
            observed += records.length;
            for (const record of records) observe(record);
          }
          lastRecordWallMs = Date.now();
          records.inc({ outcome: 'observed' }, observed);
          if (malformed > 0) records.inc({ outcome: 'malformed' }, malformed);
          const last = batch.messages.at(-1);
          if (last) await deps.consumer.commit(batch.topic, batch.partition, last.offset + 1n);
        },
      });
      timer = setInterval(() => {
        if (lastRecordWallMs === 0) return;
        try {
          const now = detectorNow();
          ddos.advance(now);
          silence.check(now);
        } catch (error) {
          deps.log.error({ err: errorMessage(error) }, 'detector tick failed');
        }
      }, config.tickMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await deps.consumer.stop();
    },
  };
}
