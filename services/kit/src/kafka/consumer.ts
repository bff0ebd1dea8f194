/**
 * The consumer: a member of a consumer group whose offsets move only through `commit`.
 *
 * @platformatic/kafka's `Consumer` runs the group protocol (join, sync, heartbeats, rejoin); the fetch loop is
 * ours, so that each partition is delivered as batches in offset order and is not fetched again until the
 * handler's promise for its previous batch has settled (backpressure per partition, not per consumer).
 * Partitions led by one broker share one fetch request; fetches go over their own connections so that a
 * long-polling fetch never delays a commit or a heartbeat.
 */
import {
  type ClusterMetadata,
  ConnectionPool,
  Consumer,
  type FetchOptions,
  type GroupAssignment,
  ListOffsetTimestamps,
} from '@platformatic/kafka';
import { describeError, KafkaError } from './errors.ts';
import { consumerMetrics } from './metrics.ts';
import type { KafkaDeps } from './producer.ts';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  IncomingMessage,
  KafkaConnectionConfig,
  KafkaConsumer,
} from './types.ts';

/** Longest time the broker holds a fetch open while no data arrives. */
const FETCH_MAX_WAIT_MS = 500;
/**
 * The same while another partition of that broker waits for its handler: that partition can only be fetched
 * again once this request returns (a connection serves one request at a time), so the request stays short.
 */
const FETCH_WAIT_WHILE_BUSY_MS = 20;
/**
 * Most bytes one partition contributes to a fetch (the Java client's max.partition.fetch.bytes default).
 * Smaller pieces let partitions take turns and keep each batch's parse short, so the first messages reach the
 * handler sooner; `maxBytes` still bounds the whole request.
 */
const PARTITION_MAX_BYTES = 1024 * 1024;
/** Pause of a partition after its handler threw, or of a broker after a failed fetch. */
const RETRY_BACKOFF_MS = 1_000;
/** Longest time `stop()` waits for running batch handlers. */
const STOP_HANDLER_GRACE_MS = 30_000;
const SESSION_TIMEOUT_MS = 30_000;
const HEARTBEAT_INTERVAL_MS = 3_000;
const REBALANCE_TIMEOUT_MS = 60_000;
const IS_CONTROL_BATCH = 1 << 5;
const OFFSET_OUT_OF_RANGE = 1;

interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to fetch; undefined until the committed offset (or the reset policy) is known. */
  position: bigint | undefined;
  /** The handler is working on a batch of this partition: no fetch until it settles. */
  busy: boolean;
  /** Bumped by seek and revocation: fetch results and handler outcomes from an older version are ignored. */
  version: number;
  revoked: boolean;
  /** Not fetched before this time (performance.now()), after an error. */
  notBefore: number;
}

type FetchRequestTopic = FetchOptions<Buffer, Buffer, Buffer, Buffer>['topics'][number];
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createKafkaConsumer(
  conn: KafkaConnectionConfig,
  options: ConsumerOptions,
  deps: KafkaDeps,
): KafkaConsumer {
  if (options.topics.length === 0)
    throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', 'consumer needs at least one topic');
  if (!options.groupId) throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', 'consumer needs a groupId');
  if (!Number.isInteger(options.maxBytes) || options.maxBytes < 1024) {
    throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', 'consumer maxBytes must be an integer ≥ 1024');
  }
  const log = deps.log.child({
    component: 'kafka-consumer',
    clientId: conn.clientId,
    group: options.groupId,
  });
  const metrics = consumerMetrics(deps.metrics);
  const group = options.groupId;
  const topics = [...new Set(options.topics)];

  let state: 'created' | 'started' | 'stopping' | 'stopped' = 'created';
  let client: Consumer | undefined;
  let fetchPool: ConnectionPool | undefined;
  let handlers: ConsumerHandlers | undefined;
  const partitions = new Map<string, PartitionState>();
  const fetchingFrom = new Set<number>();
  const runningHandlers = new Set<Promise<void>>();
  let assignmentChain: Promise<void> = Promise.resolve();
  let pumping = false;
  let pumpAgain = false;
  let pumpScheduled = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let rejoinTimer: NodeJS.Timeout | undefined;
  let lastFetchErrorLog = 0;

  const running = () => state === 'started';

  const ready = (): Consumer => {
    if (!client || state === 'created')
      throw new KafkaError('KANSOKU_KAFKA_NOT_STARTED', 'consumer used before start()');
    return client;
  };

  // ----- assignment -------------------------------------------------------------------------------------

  const applyAssignment = async (assignments: GroupAssignment[]): Promise<void> => {
    if (!running()) return;
    metrics.rebalances.inc({ group });
    const assigned = new Set<string>();
    for (const { topic, partitions: list } of assignments)
      for (const p of list) assigned.add(keyOf(topic, p));

    const revoked: { topic: string; partition: number }[] = [];
    for (const [key, s] of partitions) {
      if (assigned.has(key)) continue;
      s.revoked = true;
      s.version++;
      partitions.delete(key);
      metrics.lag.remove({ group, topic: s.topic, partition: String(s.partition) });
      revoked.push({ topic: s.topic, partition: s.partition });
    }
    const added: PartitionState[] = [];
    for (const { topic, partitions: list } of assignments) {
      for (const partition of list) {
        const key = keyOf(topic, partition);
        if (partitions.has(key)) continue;
        const s: PartitionState = {
          topic,
          partition,
          position: undefined,
          busy: false,
          version: 0,
          revoked: false,
          notBefore: 0,
        };
        partitions.set(key, s);
        added.push(s);
      }
    }
    log.info(
      {
        assigned: assignments.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' '),
        revoked: revoked.length,
        added: added.length,
      },
      'partitions assigned',
    );
    if (revoked.length > 0 && handlers?.onRevoked) {
      try {
        handlers.onRevoked(revoked);
      } catch (error) {
        log.error({ err: describeError(error) }, 'onRevoked threw');
      }
    }
    await resolvePositions();
    pump();
  };

  /** Looks up where each new partition starts: its committed offset, else the start or end of the log. */
  const resolvePositions = async (): Promise<void> => {
    const pending = [...partitions.values()].filter((s) => s.position === undefined);
    if (pending.length === 0 || !running() || !client) return;
    const byTopic = new Map<string, PartitionState[]>();
    for (const s of pending) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s]);
    try {
      const committed = await client.listCommittedOffsets({
        topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list.map((s) => s.partition) })),
      });
      const needReset: PartitionState[] = [];
      for (const s of pending) {
        const offset = committed.get(s.topic)?.[s.partition];
        if (offset !== undefined && offset >= 0n) {
          if (s.position === undefined && !s.revoked) s.position = offset;
        } else {
          needReset.push(s);
        }
      }
      await resetPositions(needReset);
    } catch (error) {
      if (!running()) return;
      log.warn({ err: describeError(error) }, 'cannot read committed offsets; retrying');
      setTimeout(() => {
        resolvePositions()
          .then(pump)
          .catch(() => undefined);
      }, RETRY_BACKOFF_MS).unref();
    }
  };

  /** Sets partitions without a usable offset to the start (fromBeginning) or the end of their log. */
  const resetPositions = async (list: PartitionState[]): Promise<void> => {
    if (list.length === 0 || !client) return;
    const byTopic = new Map<string, number[]>();
    for (const s of list) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s.partition]);
    const offsets = await client.listOffsets({
      topics: [...byTopic.keys()],
      partitions: Object.fromEntries(byTopic),
      timestamp: options.fromBeginning ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    for (const s of list) {
      const offset = offsets.get(s.topic)?.[s.partition];
      if (offset !== undefined && !s.revoked) s.position = offset;
    }
  };

  // ----- fetching ---------------------------------------------------------------------------------------

  /**
   * Issues a fetch to every broker that leads a partition ready to read and has no fetch in flight. Deferred to
   * the next turn of the event loop, so that handlers finishing in the same turn are ready by then.
   */
  const pump = (): void => {
    if (!running() || pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(() => {
      pumpScheduled = false;
      pumpNow();
    });
  };

  const pumpNow = (): void => {
    if (!running()) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    pumpOnce()
      .catch((error: unknown) => {
        metrics.fetchErrors.inc({ group });
        logFetchError(error);
        scheduleWake(RETRY_BACKOFF_MS);
      })
      .finally(() => {
        pumping = false;
        if (pumpAgain) {
          pumpAgain = false;
          pump();
        }
      });
  };

  const pumpOnce = async (): Promise<void> => {
    const now = performance.now();
    const candidates = [...partitions.values()].filter(
      (s) => s.position !== undefined && !s.busy && !s.revoked && s.notBefore <= now,
    );
    const waiting = [...partitions.values()].filter((s) => s.notBefore > now);
    if (waiting.length > 0) scheduleWake(Math.min(...waiting.map((s) => s.notBefore)) - now);
    if (candidates.length === 0 || !client) return;
    const metadata = await client.metadata({ topics });
    const leaderOf = (s: PartitionState) => metadata.topics.get(s.topic)?.partitions[s.partition]?.leader;
    const byLeader = new Map<number, PartitionState[]>();
    for (const s of candidates) {
      const leader = leaderOf(s);
      if (leader === undefined || leader < 0) {
        s.notBefore = performance.now() + RETRY_BACKOFF_MS;
        client.clearMetadata();
        continue;
      }
      if (fetchingFrom.has(leader)) continue;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), s]);
    }
    const busyLeaders = new Set<number>();
    for (const s of partitions.values()) {
      const leader = s.busy ? leaderOf(s) : undefined;
      if (leader !== undefined) busyLeaders.add(leader);
    }
    for (const [leader, list] of byLeader) {
      fetchingFrom.add(leader);
      const maxWaitMs = busyLeaders.has(leader) ? FETCH_WAIT_WHILE_BUSY_MS : FETCH_MAX_WAIT_MS;
      fetchFrom(leader, list, metadata, maxWaitMs)
        .catch((error: unknown) => {
          if (!running()) return;
          metrics.fetchErrors.inc({ group });
          logFetchError(error);
          const later = performance.now() + RETRY_BACKOFF_MS;
          for (const s of list) s.notBefore = later;
          client?.clearMetadata();
        })
        .finally(() => {
          fetchingFrom.delete(leader);
          pump();
        });
    }
  };

  const scheduleWake = (delayMs: number): void => {
    if (wakeTimer || !running()) return;
    wakeTimer = setTimeout(
      () => {
        wakeTimer = undefined;
        pump();
      },
      Math.max(1, delayMs),
    );
  };

  const logFetchError = (error: unknown): void => {
    // At most one line a second: a broker that is down fails every fetch.
    const now = Date.now();
    if (now - lastFetchErrorLog < 1_000) return;
    lastFetchErrorLog = now;
    log.warn({ err: describeError(error) }, 'fetch failed; retrying');
  };

  const fetchFrom = async (
    leader: number,
    list: PartitionState[],
    metadata: ClusterMetadata,
    maxWaitMs: number,
  ): Promise<void> => {
    const consumer = client;
    if (!consumer || !fetchPool) return;
    const requested = new Map<string, { state: PartitionState; version: number; offset: bigint }>();
    const byTopic = new Map<string, FetchRequestTopic>();
    const topicNames = new Map<string, string>();
    for (const s of list) {
      const topicMetadata = metadata.topics.get(s.topic);
      if (!topicMetadata || s.position === undefined) continue;
      topicNames.set(topicMetadata.id, s.topic);
      let entry = byTopic.get(s.topic);
      if (!entry) {
        entry = { topicId: topicMetadata.id, partitions: [] };
        byTopic.set(s.topic, entry);
      }
      entry.partitions.push({
        partition: s.partition,
        fetchOffset: s.position,
        partitionMaxBytes: Math.min(options.maxBytes, PARTITION_MAX_BYTES),
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
      requested.set(keyOf(s.topic, s.partition), { state: s, version: s.version, offset: s.position });
    }
    if (byTopic.size === 0) return;

    let response: FetchResponse;
    try {
      response = await consumer.fetch({
        node: leader,
        topics: [...byTopic.values()],
        maxBytes: options.maxBytes,
        minBytes: 1,
        maxWaitTime: maxWaitMs,
        connectionPool: fetchPool,
      });
    } catch (error) {
      // Partition-level errors arrive as an error carrying the whole response: use what is usable.
      const partial = (error as { response?: FetchResponse }).response;
      if (!running() || !partial || !Array.isArray(partial.responses)) throw error;
      response = partial;
    }
    if (!running()) return;

    const outOfRange: PartitionState[] = [];
    for (const topicResponse of response.responses) {
      const topic = topicNames.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partitionResponse of topicResponse.partitions) {
        const entry = requested.get(keyOf(topic, partitionResponse.partitionIndex));
        if (!entry) continue;
        const s = entry.state;
        if (s.revoked || s.version !== entry.version) continue;
        if (partitionResponse.errorCode !== 0) {
          if (partitionResponse.errorCode === OFFSET_OUT_OF_RANGE) outOfRange.push(s);
          else {
            s.notBefore = performance.now() + RETRY_BACKOFF_MS;
            consumer.clearMetadata();
          }
          continue;
        }
        deliver(s, entry.offset, partitionResponse.records ?? [], partitionResponse.highWatermark);
      }
    }
    if (outOfRange.length > 0) {
      log.warn(
        { partitions: outOfRange.map((s) => `${s.topic}[${s.partition}]@${s.position}`).join(' ') },
        'offset out of range; resetting',
      );
      for (const s of outOfRange) s.position = undefined;
      await resetPositions(outOfRange);
    }
  };

  const deliver = (
    s: PartitionState,
    fromOffset: bigint,
    batches: NonNullable<FetchResponse['responses'][number]['partitions'][number]['records']>,
    highWatermark: bigint,
  ): void => {
    const messages: IncomingMessage[] = [];
    let next = fromOffset;
    let bytes = 0;
    for (const batch of batches) {
      const batchEnd = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
      if (batchEnd > next) next = batchEnd;
      if (batch.attributes & IS_CONTROL_BATCH) continue;
      for (const record of batch.records) {
        const offset = batch.firstOffset + BigInt(record.offsetDelta);
        if (offset < fromOffset) continue;
        const headers: Record<string, string> = {};
        for (const [name, value] of record.headers) {
          if (name) headers[name.toString()] = value?.toString() ?? '';
        }
        const value = record.value ?? Buffer.alloc(0);
        bytes += value.length + (record.key?.length ?? 0);
        messages.push({
          topic: s.topic,
          partition: s.partition,
          offset,
          key: record.key ?? null,
          value,
          timestamp: Number(batch.firstTimestamp + record.timestampDelta),
          headers,
        });
      }
    }
    s.position = next;
    const lag = highWatermark - next;
    metrics.lag.set({ group, topic: s.topic, partition: String(s.partition) }, Number(lag > 0n ? lag : 0n));
    const handler = handlers;
    if (messages.length === 0 || !handler) return;

    metrics.messages.inc({ group, topic: s.topic }, messages.length);
    metrics.bytes.inc({ group, topic: s.topic }, bytes);
    s.busy = true;
    const version = s.version;
    const handling: Promise<void> = Promise.resolve().then(async () => {
      try {
        await handler.onBatch({ topic: s.topic, partition: s.partition, messages });
      } catch (error) {
        metrics.handlerErrors.inc({ group, topic: s.topic });
        log.error(
          { err: describeError(error), topic: s.topic, partition: s.partition, offset: `${fromOffset}` },
          'batch handler failed; reading the batch again',
        );
        // Read the batch again after a pause, unless a seek or a revocation moved on meanwhile.
        if (s.version === version && !s.revoked) {
          s.position = messages[0]!.offset;
          s.notBefore = performance.now() + RETRY_BACKOFF_MS;
        }
      } finally {
        s.busy = false;
        runningHandlers.delete(handling);
        pump();
      }
    });
    runningHandlers.add(handling);
  };

  // ----- group membership -------------------------------------------------------------------------------

  const scheduleRejoin = (): void => {
    if (rejoinTimer || !running()) return;
    rejoinTimer = setTimeout(() => {
      rejoinTimer = undefined;
      if (!running() || !client) return;
      client.joinGroup({}).catch((error: unknown) => {
        log.warn({ err: describeError(error) }, 'rejoining the group failed; retrying');
        scheduleRejoin();
      });
    }, RETRY_BACKOFF_MS);
  };

  return {
    async start(consumerHandlers: ConsumerHandlers): Promise<void> {
      if (state !== 'created') throw new KafkaError('KANSOKU_KAFKA_BAD_OPTION', `consumer already ${state}`);
      handlers = consumerHandlers;
      const consumer = new Consumer({
        clientId: conn.clientId,
        bootstrapBrokers: conn.brokers,
        groupId: group,
        autocommit: false,
        sessionTimeout: options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS,
        // A heartbeat at least three times per session, as the broker expects.
        heartbeatInterval: Math.min(
          HEARTBEAT_INTERVAL_MS,
          Math.floor((options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS) / 3),
        ),
        rebalanceTimeout: REBALANCE_TIMEOUT_MS,
        maxBytes: options.maxBytes,
        maxWaitTime: FETCH_MAX_WAIT_MS,
        retries: 3,
        retryDelay: 250,
      });
      client = consumer;
      fetchPool = new ConnectionPool(`${conn.clientId}-fetch`);
      consumer.on('consumer:group:join', (payload) => {
        const assignments = payload.assignments ?? [];
        assignmentChain = assignmentChain
          .then(() => applyAssignment(assignments))
          .catch((error: unknown) =>
            log.error({ err: describeError(error) }, 'applying the assignment failed'),
          );
      });
      // A rejoin that failed for good is reported as an error event: try again rather than sit outside the group.
      consumer.on('error', (error: Error) => {
        log.warn({ err: describeError(error) }, 'kafka consumer error');
        scheduleRejoin();
      });
      consumer.on('consumer:heartbeat:error', (payload) =>
        log.debug({ err: describeError(payload.error) }, 'heartbeat failed'),
      );
      consumer.topics.trackAll(...topics);
      state = 'started';
      try {
        await consumer.joinGroup({});
        await assignmentChain;
      } catch (error) {
        state = 'stopped';
        await consumer.close().catch(() => undefined);
        await fetchPool.close().catch(() => undefined);
        throw new KafkaError(
          'KANSOKU_KAFKA_NO_BROKER',
          `consumer group ${group} cannot join at ${conn.brokers.join(', ')}: ${describeError(error)}`,
          { cause: error },
        );
      }
      log.debug({ topics }, 'consumer started');
    },

    async commit(topic: string, partition: number, nextOffset: bigint): Promise<void> {
      const consumer = ready();
      if (state === 'stopped')
        throw new KafkaError('KANSOKU_KAFKA_STOPPED', 'consumer stopped; commit refused');
      if (!partitions.has(keyOf(topic, partition))) {
        // The partition went to another member: its commits are the new owner's business now.
        log.warn(
          { topic, partition, offset: `${nextOffset}` },
          'commit for a partition no longer assigned; skipped',
        );
        return;
      }
      await consumer.commit({ offsets: [{ topic, partition, offset: nextOffset, leaderEpoch: -1 }] });
      metrics.commits.inc({ group, topic });
    },

    seek(topic: string, partition: number, offset: bigint): void {
      ready();
      const s = partitions.get(keyOf(topic, partition));
      if (!s) {
        throw new KafkaError(
          'KANSOKU_KAFKA_PARTITION_NOT_ASSIGNED',
          `${topic}[${partition}] is not assigned here`,
        );
      }
      s.position = offset;
      s.version++;
      s.notBefore = 0;
      pump();
    },

    async stop(): Promise<void> {
      if (state !== 'started') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      if (wakeTimer) clearTimeout(wakeTimer);
      if (rejoinTimer) clearTimeout(rejoinTimer);
      wakeTimer = undefined;
      rejoinTimer = undefined;
      if (runningHandlers.size > 0) {
        let grace: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          grace = setTimeout(resolve, STOP_HANDLER_GRACE_MS, 'timeout');
        });
        const outcome = await Promise.race([Promise.allSettled([...runningHandlers]), timeout]);
        clearTimeout(grace);
        if (outcome === 'timeout')
          log.warn({ handlers: runningHandlers.size }, 'batch handlers still running at stop');
      }
      state = 'stopped';
      for (const s of partitions.values()) {
        metrics.lag.remove({ group, topic: s.topic, partition: String(s.partition) });
      }
      partitions.clear();
      const consumer = client;
      const pool = fetchPool;
      try {
        // Leaves the group, so the other members get the partitions at once instead of after the session timeout.
        await consumer?.close();
      } finally {
        await pool?.close().catch(() => undefined);
      }
      log.debug('consumer stopped');
    },
  };
}
