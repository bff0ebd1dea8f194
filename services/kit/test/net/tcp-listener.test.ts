import { connect, type Socket } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createTcpListener,
  type TcpConnectionInfo,
  type TcpListener,
  type TcpListenerSettings,
  tcpListenerSchema,
} from '../../src/net/index.ts';
import { metricValue, recordingLogger } from './metrics-helpers.ts';

const listeners: TcpListener[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(listeners.splice(0).map((listener) => listener.stop()));
});

interface Client {
  socket: Socket;
  received: Buffer[];
  closed: Promise<void>;
  /** The server ended its side (a half-open client is never 'closed' by itself). */
  ended: Promise<void>;
  isClosed: () => boolean;
}

async function open(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
  sockets.push(socket);
  const received: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk) => received.push(chunk));
  socket.on('error', () => {});
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true;
      resolve();
    }),
  );
  const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received, closed: closedPromise, ended, isClosed: () => closed };
}

const value = (registry: Registry, name: string, listener: string) =>
  metricValue(registry, name, { listener });

describe('TCP listener', () => {
  it('refuses connections beyond the maximum and counts them', async () => {
    const registry = new Registry();
    const { logger, lines } = recordingLogger();
    const accepted: TcpConnectionInfo[] = [];
    const listener = createTcpListener(
      { name: 'bmp', address: '127.0.0.1', port: 0, maxConnections: 2 },
      {
        registry,
        logger,
        onConnection: (socket, info) => {
          accepted.push(info);
          socket.on('data', () => {});
          return undefined;
        },
      },
    );
    listeners.push(listener);
    await listener.start();
    const { port } = listener.address();

    const first = await open(port);
    const second = await open(port);
    await vi.waitFor(() => expect(accepted).toHaveLength(2));
    const third = await open(port);
    await third.closed;
    expect(accepted).toHaveLength(2);
    expect(first.isClosed() || second.isClosed()).toBe(false);
    expect(await value(registry, 'kansoku_tcp_connections_refused_total', 'bmp')).toBe(1);
    expect(await value(registry, 'kansoku_tcp_connections_active', 'bmp')).toBe(2);
    expect(await value(registry, 'kansoku_tcp_connections_accepted_total', 'bmp')).toBe(2);
    expect(lines.some((line) => line.msg.startsWith('TCP connection refused'))).toBe(true);
    expect(accepted.map((info) => info.id)).toEqual([1, 2]);
    expect(accepted[0]).toMatchObject({ remoteAddress: '127.0.0.1', localPort: port });

    // A slot frees up when a connection closes.
    first.socket.end();
    await vi.waitFor(() => expect(listener.activeConnections()).toBe(1));
    await open(port);
    await vi.waitFor(() => expect(accepted).toHaveLength(3));
    expect(await value(registry, 'kansoku_tcp_connections_closed_total', 'bmp')).toBe(1);
    expect(await value(registry, 'kansoku_tcp_connections_active', 'bmp')).toBe(2);
  });

  it('counts bytes of open and closed connections', async () => {
    const registry = new Registry();
    let receivedBytes = 0;
    const listener = createTcpListener(
      { name: 'ipfix', address: '127.0.0.1', port: 0 },
      {
        registry,
        logger: recordingLogger().logger,
        onConnection: (socket) => {
          socket.on('data', (chunk) => {
            receivedBytes += chunk.length;
          });
          return undefined;
        },
      },
    );
    listeners.push(listener);
    await listener.start();
    const client = await open(listener.address().port);
    client.socket.write(Buffer.alloc(1000));
    await vi.waitFor(() => expect(receivedBytes).toBe(1000));
    expect(await value(registry, 'kansoku_tcp_bytes_received_total', 'ipfix')).toBe(1000);
    client.socket.end(Buffer.alloc(24));
    await vi.waitFor(() => expect(listener.activeConnections()).toBe(0));
    expect(await value(registry, 'kansoku_tcp_bytes_received_total', 'ipfix')).toBe(1024);
  });

  it('counts a handler that throws as a connection error and closes that connection', async () => {
    const registry = new Registry();
    const listener = createTcpListener(
      { name: 'dnstap', address: '127.0.0.1', port: 0 },
      {
        registry,
        logger: recordingLogger().logger,
        onConnection: () => {
          throw new Error('handshake state exploded');
        },
      },
    );
    listeners.push(listener);
    await listener.start();
    const client = await open(listener.address().port);
    await client.closed;
    expect(await value(registry, 'kansoku_tcp_connection_errors_total', 'dnstap')).toBe(1);
    expect(await value(registry, 'kansoku_tcp_connections_closed_total', 'dnstap')).toBe(1);
    expect(await value(registry, 'kansoku_tcp_connections_active', 'dnstap')).toBe(0);
  });

  it('counts socket errors such as a peer reset', async () => {
    const registry = new Registry();
    let serverSide: Socket | undefined;
    const listener = createTcpListener(
      { name: 'reset', address: '127.0.0.1', port: 0 },
      {
        registry,
        logger: recordingLogger().logger,
        onConnection: (socket) => {
          serverSide = socket;
          return undefined;
        },
      },
    );
    listeners.push(listener);
    await listener.start();
    const client = await open(listener.address().port);
    await vi.waitFor(() => expect(serverSide).toBeDefined());
    client.socket.resetAndDestroy();
    // Writing to a reset connection fails with EPIPE or ECONNRESET on the server side.
    await vi.waitFor(async () => {
      serverSide?.write('x');
      expect(await value(registry, 'kansoku_tcp_connection_errors_total', 'reset')).toBeGreaterThanOrEqual(1);
    });
    await vi.waitFor(() => expect(listener.activeConnections()).toBe(0));
  });

  it('stops gracefully: the handler says goodbye, peers that do not close are cut after the grace period', async () => {
    const registry = new Registry();
    const { logger, lines } = recordingLogger();
    const closedWith: boolean[] = [];
    const listener = createTcpListener(
      { name: 'graceful', address: '127.0.0.1', port: 0, gracePeriodMs: 300 },
      {
        registry,
        logger,
        onConnection: (socket) => ({
          close: async () => {
            socket.write('FINISH');
          },
          onClose: (hadError) => closedWith.push(hadError),
        }),
      },
    );
    await listener.start();
    const { port } = listener.address();
    const polite = await open(port);
    const stubborn = await open(port, { allowHalfOpen: true });
    await vi.waitFor(() => expect(listener.activeConnections()).toBe(2));

    const started = Date.now();
    await listener.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(3000);
    await polite.closed;
    await stubborn.ended;
    expect(Buffer.concat(polite.received).toString()).toBe('FINISH');
    expect(Buffer.concat(stubborn.received).toString()).toBe('FINISH');
    expect(closedWith).toHaveLength(2);
    expect(listener.activeConnections()).toBe(0);
    expect(lines.some((line) => line.msg.includes('after the grace period'))).toBe(true);
    // no longer accepting
    await expect(
      new Promise((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('stops at once when every peer closes politely', async () => {
    const listener = createTcpListener(
      { name: 'quick', address: '127.0.0.1', port: 0, gracePeriodMs: 10_000 },
      { registry: new Registry(), logger: recordingLogger().logger, onConnection: () => undefined },
    );
    await listener.start();
    const client = await open(listener.address().port);
    await vi.waitFor(() => expect(listener.activeConnections()).toBe(1));
    const started = Date.now();
    await listener.stop();
    await client.closed;
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('has a config section schema with the protocol port as default', () => {
    const settings = Value.Default(tcpListenerSchema({ port: 11019 }), {}) as TcpListenerSettings;
    expect(settings).toMatchObject({
      address: '0.0.0.0',
      port: 11019,
      maxConnections: 256,
      gracePeriodMs: 5000,
    });
    // a listener accepts the settings as they are
    createTcpListener(
      { name: 'bmp', ...settings },
      { registry: new Registry(), logger: recordingLogger().logger, onConnection: () => undefined },
    );
  });

  it('shares one registry between listeners', async () => {
    const registry = new Registry();
    const deps = { registry, logger: recordingLogger().logger, onConnection: () => undefined };
    const a = createTcpListener({ name: 'a', address: '127.0.0.1', port: 0 }, deps);
    const b = createTcpListener({ name: 'b', address: '::1', port: 0 }, deps);
    listeners.push(a, b);
    await a.start();
    await b.start();
    const socket = connect({ port: b.address().port, host: '::1' });
    sockets.push(socket);
    await vi.waitFor(() => expect(b.activeConnections()).toBe(1));
    expect(await value(registry, 'kansoku_tcp_connections_accepted_total', 'b')).toBe(1);
    expect(await value(registry, 'kansoku_tcp_connections_active', 'a')).toBe(0);
  });
});
