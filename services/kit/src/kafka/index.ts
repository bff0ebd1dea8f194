/**
 * kit's Kafka components on @platformatic/kafka (chosen by measurement: docs/benchmarks.md, "kafka-clients").
 * Nothing outside this folder imports a Kafka client; services use the interfaces in `types.ts`.
 */
export { createKafkaAdmin } from './admin.ts';
export { createKafkaConsumer } from './consumer.ts';
export { describeError, KafkaError, type KafkaErrorCode } from './errors.ts';
export { keyHash, murmur2, partitionForKey } from './partitioner.ts';
export { createKafkaProducer, type KafkaDeps } from './producer.ts';
export {
  createRecordMessageSender,
  type RecordMessageSender,
  type RecordMessageSenderConfig,
} from './record-message-sender.ts';
export type * from './types.ts';
