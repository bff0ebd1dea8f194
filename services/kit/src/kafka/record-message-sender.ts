/**
 * The sending half of a collector's publisher: Kafka messages that each carry several records (a batch of one
 * source) are handed to the producer in calls of at most `maxSendRecords` records, and every record is settled
 * once, as published or failed, when Kafka answers. The publisher decides what goes into a message; this keeps
 * the count of what is in flight honest and waits for it on flush.
 */
import { errorMessage } from '../errors.ts';
import { createRateLimitedLog, type WarnLogger } from '../net/rate-limited-log.ts';
import type { KafkaProducer, OutgoingMessage } from './types.ts';

export interface RecordMessageSenderConfig {
  topic: string;
  /** Records handed to the producer in one call at most (a message is never split: at least one goes). */
  maxSendRecords: number;
  /** What the records are, for the warning when Kafka does not take them ("flow records"). */
  what: string;
}

export interface RecordMessageSenderDeps {
  producer: Pick<KafkaProducer, 'send'>;
  log: WarnLogger;
  /** `n` records were acknowledged (`published`) or not (`failed`). */
  settled(outcome: 'published' | 'failed', n: number): void;
}

export interface RecordMessageSender {
  /** Queues a message carrying `records` records for the next send. */
  add(message: OutgoingMessage, records: number): void;
  /** Sends what is queued at the end of this event-loop turn. */
  schedule(): void;
  /** Sends what is queued now. */
  sendNow(): void;
  /** Sends what is queued and waits until every send so far has been answered. */
  flush(): Promise<void>;
}

export function createRecordMessageSender(
  config: RecordMessageSenderConfig,
  deps: RecordMessageSenderDeps,
): RecordMessageSender {
  const { topic } = config;
  const warnings = createRateLimitedLog(deps.log);
  let buffer: OutgoingMessage[] = [];
  let bufferRecords: number[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();

  const send = (messages: OutgoingMessage[], n: number) => {
    const sent = deps.producer.send(topic, messages).then(
      () => deps.settled('published', n),
      (error: unknown) => {
        deps.settled('failed', n);
        warnings.warn(
          'publish-failed',
          { topic, records: n, err: errorMessage(error) },
          `${config.what} not published: Kafka did not acknowledge them`,
        );
      },
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };

  const sendNow = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    let first = 0;
    while (first < buffer.length) {
      let last = first;
      let n = bufferRecords[first]!;
      while (last + 1 < buffer.length && n + bufferRecords[last + 1]! <= config.maxSendRecords) {
        last++;
        n += bufferRecords[last]!;
      }
      send(first === 0 && last === buffer.length - 1 ? buffer : buffer.slice(first, last + 1), n);
      first = last + 1;
    }
    buffer = [];
    bufferRecords = [];
  };

  return {
    add(message, records) {
      buffer.push(message);
      bufferRecords.push(records);
    },
    schedule() {
      if (buffer.length > 0 && scheduled === undefined) scheduled = setImmediate(sendNow);
    },
    sendNow,
    async flush() {
      sendNow();
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      warnings.flush();
    },
  };
}
