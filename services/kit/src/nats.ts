/**
 * NATS for alerts, threat sharing between controllers and live tails; JetStream for what must
 * survive a subscriber's absence. `stop()` drains: in-flight publishes and handlers finish first.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { defineSection, type SectionValue } from './config.ts';
import { KansokuError } from './errors.ts';
import type { Component } from './lifecycle.ts';

export type { JetStreamClient, JetStreamManager, NatsConnection };

export const natsSection = defineSection(
  'nats',
  Type.Object({
    servers: Type.Array(Type.String(), { default: ['127.0.0.1:4222'], minItems: 1 }),
    name: Type.String({ default: 'kansoku' }),
    token: Type.String({ default: '', description: 'Auth token; empty for none' }),
    connectTimeoutMs: Type.Integer({ default: 5000, minimum: 100 }),
  }),
  ['token'],
);

export type NatsConfig = SectionValue<typeof natsSection>;

export interface Nats extends Component {
  connection(): NatsConnection;
  jetstream(): JetStreamClient;
  jetstreamManager(): Promise<JetStreamManager>;
  /** Round trip to the server in ms; throws when disconnected. */
  rtt(): Promise<number>;
}

export function createNats(config: NatsConfig, deps: { log: Logger }): Nats {
  let nc: NatsConnection | undefined;
  const ready = (): NatsConnection => {
    if (!nc) throw new KansokuError('KANSOKU_NATS_NOT_STARTED', 'NATS used before start()');
    return nc;
  };
  return {
    name: 'nats',
    async start() {
      try {
        nc = await connect({
          servers: config.servers,
          name: config.name,
          timeout: config.connectTimeoutMs,
          maxReconnectAttempts: -1,
          ...(config.token ? { token: config.token } : {}),
        });
      } catch (error) {
        throw new KansokuError(
          'KANSOKU_NATS_UNREACHABLE',
          `cannot connect to NATS at ${config.servers.join(',')}`,
          {
            cause: error,
          },
        );
      }
      deps.log.info({ server: nc.getServer() }, 'NATS connected');
      const current = nc;
      (async () => {
        for await (const status of current.status()) {
          if (status.type === 'disconnect' || status.type === 'reconnect')
            deps.log.warn({ status: status.type }, 'NATS');
        }
      })().catch(() => undefined);
    },
    async stop() {
      if (nc && !nc.isClosed()) await nc.drain();
      nc = undefined;
    },
    connection: ready,
    jetstream: () => jetstream(ready()),
    jetstreamManager: () => jetstreamManager(ready()),
    rtt: () => ready().rtt(),
  };
}
