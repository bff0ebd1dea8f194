import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.ts';
import { createNats, type Nats } from '../src/nats.ts';

describe('NATS (real nats-server with JetStream)', () => {
  const servers = (process.env.KANSOKU_NATS_SERVERS ?? '127.0.0.1:4222').split(',');
  let nats: Nats;

  beforeAll(async () => {
    nats = createNats(
      { servers, name: 'kansoku-test', token: '', connectTimeoutMs: 5000 },
      { log: silentLogger() },
    );
    await nats.start();
  });
  afterAll(async () => {
    await nats.stop();
  });

  it('publishes to a JetStream stream and reads back from a durable consumer', async () => {
    const stream = `TEST_${randomUUID().replaceAll('-', '')}`;
    const subject = `kansoku.test.${randomUUID()}`;
    const jsm = await nats.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: [subject] });
    try {
      const js = nats.jetstream();
      for (let i = 0; i < 5; i++) await js.publish(subject, new TextEncoder().encode(`alert ${i}`));
      await jsm.consumers.add(stream, {
        durable_name: 'reader',
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
      const consumer = await js.consumers.get(stream, 'reader');
      const batch = await consumer.fetch({ max_messages: 5, expires: 2000 });
      const seen: string[] = [];
      for await (const message of batch) {
        seen.push(message.string());
        message.ack();
      }
      expect(seen).toEqual(['alert 0', 'alert 1', 'alert 2', 'alert 3', 'alert 4']);
    } finally {
      await jsm.streams.delete(stream);
    }
  });

  it('delivers in-flight messages before a drain completes', async () => {
    const other = createNats(
      { servers, name: 'kansoku-test-2', token: '', connectTimeoutMs: 5000 },
      { log: silentLogger() },
    );
    await other.start();
    const subject = `kansoku.test.${randomUUID()}`;
    const received: string[] = [];
    const subscription = nats.connection().subscribe(subject, {
      callback: (_error, message) => {
        received.push(message.string());
      },
    });
    await nats.connection().flush();
    for (let i = 0; i < 100; i++) other.connection().publish(subject, `m${i}`);
    await other.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    subscription.unsubscribe();
    expect(received).toHaveLength(100);
  });

  it('fails to start with a clear code when no server answers', async () => {
    const unreachable = createNats(
      { servers: ['127.0.0.1:1'], name: 'x', token: '', connectTimeoutMs: 500 },
      { log: silentLogger() },
    );
    await expect(unreachable.start()).rejects.toMatchObject({ code: 'KANSOKU_NATS_UNREACHABLE' });
  });
});
