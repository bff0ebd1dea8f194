/**
 * NATS JetStream: each alert event is published on `<prefix>.<severity>` (kansoku.alerts.critical…)
 * into a stream over `<prefix>.>`, with the event id as JetStream's message id, so a retried publish
 * is stored once. The stream is created (or its subjects updated) on first use, not at start: NATS
 * being down at start is one more outage the outbox rides out.
 */
import type { Nats } from '@kansoku/kit';
import { DeliveryError, type Notifier } from '../notification.ts';

export interface NatsNotifierConfig {
  stream: string;
  subjectPrefix: string;
  /** How long the stream keeps alerts. */
  maxAgeMs: number;
  /** JetStream's duplicate window: a re-published id within it is dropped. */
  duplicateWindowMs: number;
}

export function createNatsNotifier(config: NatsNotifierConfig, deps: { nats: Nats }): Notifier {
  let ready = false;
  async function ensureStream() {
    if (ready) return;
    const jsm = await deps.nats.jetstreamManager();
    const subjects = [`${config.subjectPrefix}.>`];
    const settings = {
      subjects,
      max_age: config.maxAgeMs * 1_000_000,
      duplicate_window: config.duplicateWindowMs * 1_000_000,
    };
    try {
      const info = await jsm.streams.info(config.stream);
      if (!info.config.subjects?.includes(subjects[0] as string)) {
        await jsm.streams.update(config.stream, { ...info.config, ...settings });
      }
    } catch (error) {
      if (!/not found/i.test((error as Error).message)) throw error;
      await jsm.streams.add({ name: config.stream, ...settings });
    }
    ready = true;
  }
  return {
    name: 'nats',
    batchSize: 32,
    coalesce: false,
    resends: false,
    async deliver(batch) {
      try {
        await ensureStream();
        const js = deps.nats.jetstream();
        for (const n of batch) {
          await js.publish(`${config.subjectPrefix}.${n.severity}`, JSON.stringify(n), { msgID: n.id });
        }
      } catch (error) {
        throw new DeliveryError(`JetStream publish: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
