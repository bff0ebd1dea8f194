/**
 * A consumer-group sink from Kafka into the warehouse, exactly-once through the ingest ledger
 * (see warehouse/ingest-ledger.ts). Processors supply two functions: `decode` turns one message
 * into an item (throwing counts the message as malformed and skips it), and `aggregate` turns the
 * items of one batch into rows per table. Both must be deterministic: a replayed range must give
 * the same rows for ClickHouse to recognise it.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorMessage, KansokuError } from '../errors.ts';
import type { IncomingBatch, IncomingMessage, KafkaConsumer } from '../kafka/types.ts';
import type { Component } from '../lifecycle.ts';
import { sharedCounter, sharedHistogram } from '../metrics.ts';
import { type LedgerIntent, latestIntent, ledgerToken, writeIntent } from '../warehouse/ingest-ledger.ts';
import type { InsertOptions, RowBinaryRows, TabSeparatedRows, Warehouse } from '../warehouse/warehouse.ts';

export interface SinkRows {
  /** `{{db}}.table`; the table needs `non_replicated_deduplication_window` (or replication). */
  table: string;
  rows: Record<string, unknown>[];
}

/** Rows for one table already written as TabSeparated text: for tables that take every record. */
export interface SinkTabSeparated {
  /** `{{db}}.table`, as for SinkRows. */
  table: string;
  tabSeparated: TabSeparatedRows;
}

/** Rows for one table already written as RowBinary: the cheapest for the engine to read. */
export interface SinkRowBinary {
  /** `{{db}}.table`, as for SinkRows. */
  table: string;
  rowBinary: RowBinaryRows;
}

/** What a sink's aggregate returns for one table. */
export type SinkOutput = SinkRows | SinkTabSeparated | SinkRowBinary;

/** Writes one output of a sink (or of anything that fills tables the same way). */
export function insertSinkOutput(
  warehouse: Warehouse,
  output: SinkOutput,
  options: InsertOptions,
): Promise<void> {
  if ('tabSeparated' in output)
    return warehouse.insertTabSeparated(output.table, output.tabSeparated, options);
  if ('rowBinary' in output) return warehouse.insertRowBinary(output.table, output.rowBinary, options);
  return warehouse.insert(output.table, output.rows, options);
}

export interface SinkAccumulator {
  add(message: IncomingMessage): void;
  /** Records added so far (for the records metric). */
  readonly size: number;
  outputs(): SinkOutput[];
}

export interface WarehouseSinkOptions<T> {
  name: string;
  groupId: string;
  maxBatchMessages: number;
  maxBatchDelayMs: number;
  /**
   * Instead of decode + aggregate: a fresh accumulator per write, fed each message as it is read (the fastest
   * way for a batch of many records per message: no item objects at all). `add` throws when the message is
   * malformed, having added nothing of it.
   */
  accumulate?(): SinkAccumulator;
  /** One item per message; or, with `decodeInto`, the items a message carries (a batch of records). */
  decode?(message: IncomingMessage): T;
  /** Appends the message's items to `into`; throws (nothing appended) when the message is malformed. */
  decodeInto?(message: IncomingMessage, into: T[]): void;
  aggregate?(items: T[]): SinkOutput[];
}

export interface WarehouseSinkDeps {
  consumer: KafkaConsumer;
  warehouse: Warehouse;
  log: Logger;
  metrics: Registry;
}

interface PartitionState {
  topic: string;
  partition: number;
  buffer: IncomingMessage[];
  bufferedSince: number;
  ledgerChecked: boolean;
  /** A range written to the ledger but not committed to Kafka: flushed again, exactly. */
  replay: LedgerIntent | undefined;
  /** Serialises flushes of one partition (batch handler and idle timer). */
  lock: Promise<void>;
}

class SinkStoppedError extends KansokuError {
  constructor() {
    super('KANSOKU_SINK_STOPPED', 'sink stopped while a write was being retried');
  }
}

/**
 * The sink's way to turn a write's messages into outputs: an accumulator as given, or `decodeInto`/`decode`
 * into items and then `aggregate`. Returns the outputs, the records read and the malformed messages.
 */
function sinkReader<T>(
  options: WarehouseSinkOptions<T>,
  onMalformed: (message: IncomingMessage, error: unknown) => void,
): (messages: IncomingMessage[]) => { outputs: SinkOutput[]; records: number; malformed: number } {
  const { accumulate, aggregate } = options;
  if (accumulate) {
    return (messages) => {
      const accumulator = accumulate();
      let malformed = 0;
      for (const message of messages) {
        try {
          accumulator.add(message);
        } catch (error) {
          malformed++;
          onMalformed(message, error);
        }
      }
      return { outputs: accumulator.outputs(), records: accumulator.size, malformed };
    };
  }
  const decode = options.decode;
  const decodeInto =
    options.decodeInto ??
    (decode
      ? (message: IncomingMessage, into: T[]) => {
          into.push(decode(message));
        }
      : undefined);
  if (!decodeInto || !aggregate) {
    throw new KansokuError(
      'KANSOKU_SINK_NO_DECODER',
      `sink ${options.name}: needs accumulate, or decode and aggregate`,
    );
  }
  return (messages) => {
    const items: T[] = [];
    let malformed = 0;
    for (const message of messages) {
      try {
        decodeInto(message, items);
      } catch (error) {
        malformed++;
        onMalformed(message, error);
      }
    }
    return { outputs: aggregate(items), records: items.length, malformed };
  };
}

export function createWarehouseSink<T>(options: WarehouseSinkOptions<T>, deps: WarehouseSinkDeps): Component {
  const { consumer, warehouse, log } = deps;
  const read = sinkReader(options, (message, error) =>
    log.debug(
      { sink: options.name, offset: message.offset.toString(), err: errorMessage(error) },
      'malformed',
    ),
  );
  const partitions = new Map<string, PartitionState>();
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;

  const labels = { sink: options.name };
  // Shared by every sink of the process (one per processor), told apart by the `sink` label.
  const messagesIn = sharedCounter(deps.metrics, {
    name: 'kansoku_sink_messages_total',
    help: 'Messages read by a sink, by outcome (written, malformed)',
    labelNames: ['sink', 'outcome'],
  });
  const itemsWritten = sharedCounter(deps.metrics, {
    name: 'kansoku_sink_records_total',
    help: 'Records written by a sink (a message may carry several)',
    labelNames: ['sink'],
  });
  const flushes = sharedCounter(deps.metrics, {
    name: 'kansoku_sink_flushes_total',
    help: 'Batches written and committed by a sink, by kind (normal, replay)',
    labelNames: ['sink', 'kind'],
  });
  const retries = sharedCounter(deps.metrics, {
    name: 'kansoku_sink_write_retries_total',
    help: 'Warehouse writes retried after an error',
    labelNames: ['sink'],
  });
  const flushSeconds = sharedHistogram(deps.metrics, {
    name: 'kansoku_sink_flush_seconds',
    help: 'Time to write one batch (ledger, rows, commit)',
    labelNames: ['sink'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });

  const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

  function state(topic: string, partition: number): PartitionState {
    const key = keyOf(topic, partition);
    let s = partitions.get(key);
    if (!s) {
      s = {
        topic,
        partition,
        buffer: [],
        bufferedSince: 0,
        ledgerChecked: false,
        replay: undefined,
        lock: Promise.resolve(),
      };
      partitions.set(key, s);
    }
    return s;
  }

  function locked(s: PartitionState, run: () => Promise<void>): Promise<void> {
    const next = s.lock.then(run);
    s.lock = next.catch(() => undefined);
    return next;
  }

  async function withRetry(what: string, run: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (stopping && attempt > 0) throw new SinkStoppedError();
      try {
        await run();
        return;
      } catch (error) {
        retries.inc(labels);
        const delay = Math.min(10_000, 200 * 2 ** attempt);
        log.warn(
          { sink: options.name, what, attempt, delay, err: errorMessage(error) },
          'warehouse write failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async function flush(s: PartitionState, messages: IncomingMessage[], replay: LedgerIntent | undefined) {
    const first = messages[0];
    const lastMessage = messages.at(-1);
    if (!first || !lastMessage) return;
    const end = flushSeconds.startTimer(labels);
    const intent: LedgerIntent = replay ?? {
      first: first.offset,
      last: lastMessage.offset,
      token: ledgerToken(options.groupId, s.topic, s.partition, first.offset, lastMessage.offset),
    };
    const { outputs, records, malformed } = read(messages);
    if (!replay) {
      await withRetry('ledger', () => writeIntent(warehouse, options.groupId, s.topic, s.partition, intent));
    }
    for (const output of outputs) {
      const insertOptions = { dedupToken: intent.token };
      await withRetry(output.table, () => insertSinkOutput(warehouse, output, insertOptions));
    }
    await consumer.commit(s.topic, s.partition, intent.last + 1n);
    messagesIn.inc({ ...labels, outcome: 'written' }, messages.length - malformed);
    itemsWritten.inc(labels, records);
    if (malformed > 0) messagesIn.inc({ ...labels, outcome: 'malformed' }, malformed);
    flushes.inc({ ...labels, kind: replay ? 'replay' : 'normal' });
    end();
  }

  /** Flushes what is due: a pending replay range as soon as it is complete, else by size or age. */
  async function flushDue(s: PartitionState, force: boolean) {
    if (s.replay) {
      const replay = s.replay;
      const lastSeen = s.buffer.at(-1)?.offset;
      if (lastSeen === undefined || lastSeen < replay.last) return;
      const cut = s.buffer.findIndex((m) => m.offset > replay.last);
      const range = cut === -1 ? s.buffer : s.buffer.slice(0, cut);
      s.buffer = cut === -1 ? [] : s.buffer.slice(cut);
      s.bufferedSince = Date.now();
      await flush(s, range, replay);
      s.replay = undefined;
      log.info(
        { sink: options.name, topic: s.topic, partition: s.partition, token: replay.token },
        'replayed range',
      );
    }
    const due =
      s.buffer.length >= options.maxBatchMessages ||
      (s.buffer.length > 0 && (force || Date.now() - s.bufferedSince >= options.maxBatchDelayMs));
    if (!due) return;
    const batch = s.buffer;
    s.buffer = [];
    await flush(s, batch, undefined);
  }

  async function onBatch(batch: IncomingBatch) {
    if (stopping || batch.messages.length === 0) return;
    const s = state(batch.topic, batch.partition);
    await locked(s, async () => {
      if (!s.ledgerChecked) {
        const intent = await latestIntent(warehouse, options.groupId, s.topic, s.partition);
        const firstOffset = batch.messages[0]?.offset ?? 0n;
        if (intent && intent.last >= firstOffset) {
          if (intent.first === firstOffset) s.replay = intent;
          else {
            log.warn(
              {
                sink: options.name,
                topic: s.topic,
                partition: s.partition,
                intent: intent.token,
                firstOffset: `${firstOffset}`,
              },
              'ledger range does not start at the committed offset; not replaying it',
            );
          }
        }
        s.ledgerChecked = true;
      }
      if (s.buffer.length === 0) s.bufferedSince = Date.now();
      s.buffer.push(...batch.messages);
      await flushDue(s, false);
    });
  }

  return {
    name: `sink:${options.name}`,
    async start() {
      await consumer.start({
        onBatch,
        onRevoked(revoked) {
          // The new owner re-reads from the committed offset; our buffers would be duplicates.
          for (const { topic, partition } of revoked) partitions.delete(keyOf(topic, partition));
        },
      });
      timer = setInterval(
        () => {
          for (const s of partitions.values()) {
            if (s.buffer.length === 0 || s.replay) continue;
            locked(s, () => flushDue(s, false)).catch((error: unknown) =>
              log.error({ sink: options.name, err: errorMessage(error) }, 'idle flush failed'),
            );
          }
        },
        Math.max(50, Math.floor(options.maxBatchDelayMs / 2)),
      );
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      // Drain: write what is buffered, then leave the group.
      for (const s of partitions.values()) {
        await locked(s, () => (s.replay ? Promise.resolve() : flushDue(s, true))).catch((error: unknown) =>
          log.error(
            { sink: options.name, err: errorMessage(error) },
            'final flush failed; Kafka will redeliver',
          ),
        );
      }
      stopping = true;
      await consumer.stop();
    },
  };
}
