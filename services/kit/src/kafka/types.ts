/**
 * The Kafka surface every service uses. The client library behind it was chosen by measurement
 * (docs/benchmarks.md); nothing outside kit/kafka imports a Kafka client directly.
 */

export interface KafkaConnectionConfig {
  /** host:port list of bootstrap brokers. */
  brokers: string[];
  clientId: string;
}

export interface OutgoingMessage {
  key?: Buffer | string | null;
  value: Buffer | Uint8Array;
  headers?: Record<string, string>;
  /** Milliseconds since the epoch; the broker's time when absent. */
  timestamp?: number;
}

export interface ProducerOptions {
  /** Largest number of messages sent in one request per partition before flushing. */
  maxBatchMessages: number;
  /** How long a message may wait for its batch to fill. */
  lingerMs: number;
}

/** acks=all and idempotent: a retry never duplicates a message. */
export interface KafkaProducer {
  start(): Promise<void>;
  /** Resolves once the broker has acknowledged every message (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Flushes what is queued, then disconnects. */
  stop(): Promise<void>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer;
  timestamp: number;
  headers: Record<string, string>;
}

/** Messages of one topic-partition, in offset order. */
export interface IncomingBatch {
  topic: string;
  partition: number;
  messages: IncomingMessage[];
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  fromBeginning: boolean;
  /** Upper bound on bytes fetched per request. */
  maxBytes: number;
  /**
   * How long the group waits for a silent member before giving its partitions to others (default 30 s). A
   * crashed processor's partitions stall this long; the broker bounds it (group.min.session.timeout.ms, 6 s).
   */
  sessionTimeoutMs?: number;
}

export interface ConsumerHandlers {
  /**
   * Called with each fetched batch. Offsets are committed only through `commit`, never
   * automatically: a sink commits after its write is acknowledged.
   */
  onBatch(batch: IncomingBatch): Promise<void>;
  /** Partitions taken away by a rebalance: anything buffered for them must be dropped. */
  onRevoked?(partitions: { topic: string; partition: number }[]): void;
}

export interface KafkaConsumer {
  start(handlers: ConsumerHandlers): Promise<void>;
  /** Commits `nextOffset` (the offset of the next message to read) for a partition. */
  commit(topic: string, partition: number, nextOffset: bigint): Promise<void>;
  /** Moves the read position of an assigned partition. */
  seek(topic: string, partition: number, offset: bigint): void;
  stop(): Promise<void>;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  retentionMs: number;
}

export interface KafkaAdmin {
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  /** Sum over partitions of (high watermark − low watermark). */
  topicMessageCount(name: string): Promise<bigint>;
  /** Broker ids reachable through the bootstrap list; throws when none answers. */
  describeCluster(): Promise<{ brokers: number; controller: number | null }>;
  close(): Promise<void>;
}
