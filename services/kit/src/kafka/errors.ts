import { KansokuError } from '../errors.ts';

/** Errors raised by kit's Kafka components, with stable codes callers can match on. */
export type KafkaErrorCode =
  | 'KANSOKU_KAFKA_NOT_STARTED'
  | 'KANSOKU_KAFKA_STOPPED'
  | 'KANSOKU_KAFKA_PRODUCE_FAILED'
  | 'KANSOKU_KAFKA_UNKNOWN_TOPIC'
  | 'KANSOKU_KAFKA_PARTITION_NOT_ASSIGNED'
  | 'KANSOKU_KAFKA_NO_BROKER'
  | 'KANSOKU_KAFKA_TOPIC_NOT_READY'
  | 'KANSOKU_KAFKA_ADMIN_FAILED'
  | 'KANSOKU_KAFKA_BAD_OPTION';

export class KafkaError extends KansokuError {
  declare readonly code: KafkaErrorCode;

  constructor(code: KafkaErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A short, single-line description of whatever a client library threw, for logs and wrapped errors. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const inner = error.errors.map((item: unknown) => describeError(item));
    return `${error.message}: ${[...new Set(inner)].join('; ')}`;
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
