import { spawn } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createUdpListener,
  parseProcNetUdp,
  type UdpListener,
  type UdpListenerSettings,
  udpListenerSchema,
} from '../../src/net/index.ts';
import { metricValue, recordingLogger } from './metrics-helpers.ts';

const listeners: UdpListener[] = [];
const clients: Socket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(listeners.splice(0).map((listener) => listener.stop()));
});

function track(listener: UdpListener): UdpListener {
  listeners.push(listener);
  return listener;
}

async function client(bindAddress?: string, type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
  const socket = createSocket(type);
  clients.push(socket);
  if (bindAddress !== undefined) await new Promise<void>((resolve) => socket.bind(0, bindAddress, resolve));
  return socket;
}

function send(socket: Socket, message: string | Buffer, port: number, address = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) =>
    socket.send(message, port, address, (error) => (error ? reject(error) : resolve())),
  );
}

describe('UDP listener', () => {
  it('is inert until started', () => {
    const { logger, lines } = recordingLogger();
    const listener = createUdpListener(
      { name: 'inert', address: '127.0.0.1', port: 0 },
      { registry: new Registry(), logger, onDatagram: () => {} },
    );
    expect(() => listener.address()).toThrow(/not started/);
    expect(lines).toEqual([]);
  });

  it('receives datagrams on port 0 and counts them per listener and source', async () => {
    const registry = new Registry();
    const { logger, lines } = recordingLogger();
    const received: Array<[string, RemoteInfo]> = [];
    const listener = track(
      createUdpListener(
        { name: 'netflow', address: '127.0.0.1', port: 0, recvBufferSize: 1 << 20 },
        {
          registry,
          logger,
          onDatagram: (datagram, rinfo) => void received.push([datagram.toString(), rinfo]),
        },
      ),
    );
    await listener.start();
    const { port, family } = listener.address();
    expect(port).toBeGreaterThan(0);
    expect(family).toBe('IPv4');

    const sender = await client();
    for (const message of ['one', 'two', 'three!']) await send(sender, message, port);
    await vi.waitFor(() => expect(received).toHaveLength(3));
    expect(received.map(([text]) => text)).toEqual(['one', 'two', 'three!']);
    expect(received[0]![1].address).toBe('127.0.0.1');

    const labels = { listener: 'netflow', source: '127.0.0.1' };
    expect(await metricValue(registry, 'kansoku_udp_datagrams_received_total', labels)).toBe(3);
    expect(await metricValue(registry, 'kansoku_udp_bytes_received_total', labels)).toBe(3 + 3 + 6);

    // The receive buffer was set and read back; Linux reports twice the size asked for.
    const effective = listener.recvBufferSize();
    expect(effective).toBeGreaterThan(0);
    expect(await metricValue(registry, 'kansoku_udp_receive_buffer_bytes', { listener: 'netflow' })).toBe(
      effective,
    );
    const started = lines.find((line) => line.msg === 'UDP listener started');
    expect(started?.obj).toMatchObject({ recvBufferSize: effective, requestedRecvBufferSize: 1 << 20, port });
  });

  it.skipIf(process.platform !== 'linux')(
    'warns when net.core.rmem_max caps the receive buffer',
    async () => {
      const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
      const { logger, lines } = recordingLogger();
      const requested = rmemMax * 4;
      const listener = track(
        createUdpListener(
          { name: 'capped', address: '127.0.0.1', port: 0, recvBufferSize: requested },
          { registry: new Registry(), logger, onDatagram: () => {} },
        ),
      );
      await listener.start();
      expect(listener.recvBufferSize()).toBe(rmemMax * 2);
      const warning = lines.find((line) => line.msg.includes('net.core.rmem_max'));
      expect(warning?.obj).toMatchObject({ requested, effective: rmemMax * 2 });

      const { logger: quietLogger, lines: quietLines } = recordingLogger();
      const fits = track(
        createUdpListener(
          { name: 'fits', address: '127.0.0.1', port: 0, recvBufferSize: Math.floor(rmemMax / 2) },
          { registry: new Registry(), logger: quietLogger, onDatagram: () => {} },
        ),
      );
      await fits.start();
      expect(fits.recvBufferSize()).toBe(Math.floor(rmemMax / 2) * 2);
      expect(quietLines.filter((line) => line.level === 'warn')).toEqual([]);
    },
  );

  it('counts a handler that throws or rejects, and keeps receiving', async () => {
    const registry = new Registry();
    const { logger, lines } = recordingLogger();
    const handled: string[] = [];
    const listener = track(
      createUdpListener(
        { name: 'sflow', address: '127.0.0.1', port: 0 },
        {
          registry,
          logger,
          onDatagram: async (datagram) => {
            const text = datagram.toString();
            if (text === 'throw')
              throw Object.assign(new Error('bad sFlow version'), { code: 'KANSOKU_TEST' });
            if (text === 'reject') await Promise.reject(new Error('decoder failed later'));
            handled.push(text);
          },
        },
      ),
    );
    await listener.start();
    const { port } = listener.address();
    const sender = await client();
    for (const message of ['throw', 'throw', 'reject', 'fine']) await send(sender, message, port);
    await vi.waitFor(async () =>
      expect(await metricValue(registry, 'kansoku_udp_handler_errors_total', { listener: 'sflow' })).toBe(3),
    );
    await vi.waitFor(() => expect(handled).toEqual(['fine']));
    expect(await metricValue(registry, 'kansoku_udp_datagrams_received_total', { listener: 'sflow' })).toBe(
      4,
    );
    // Rate-limited: one line per kind of error, not one per datagram.
    const failures = lines.filter((line) => line.msg === 'UDP datagram handler failed');
    expect(failures.map((line) => line.obj.error)).toEqual(['bad sFlow version', 'decoder failed later']);
  });

  it('a synchronous throw is counted too', async () => {
    const registry = new Registry();
    const listener = track(
      createUdpListener(
        { name: 'sync', address: '127.0.0.1', port: 0 },
        {
          registry,
          logger: recordingLogger().logger,
          onDatagram: () => {
            throw new TypeError('boom');
          },
        },
      ),
    );
    await listener.start();
    const sender = await client();
    await send(sender, 'x', listener.address().port);
    await vi.waitFor(async () =>
      expect(await metricValue(registry, 'kansoku_udp_handler_errors_total', { listener: 'sync' })).toBe(1),
    );
  });

  it('tracks a bounded number of sources; the rest are "other"', async () => {
    const registry = new Registry();
    let count = 0;
    const listener = track(
      createUdpListener(
        { name: 'bounded', address: '127.0.0.1', port: 0, maxTrackedSources: 1 },
        { registry, logger: recordingLogger().logger, onDatagram: () => void count++ },
      ),
    );
    await listener.start();
    const { port } = listener.address();
    const first = await client('127.0.0.1');
    const second = await client('127.0.0.2');
    const third = await client('127.0.0.3');
    await send(first, 'a', port);
    await vi.waitFor(() => expect(count).toBe(1));
    await send(second, 'bb', port);
    await send(third, 'ccc', port);
    await send(first, 'd', port);
    await vi.waitFor(() => expect(count).toBe(4));
    const value = (source: string) =>
      metricValue(registry, 'kansoku_udp_datagrams_received_total', { listener: 'bounded', source });
    expect(await value('127.0.0.1')).toBe(2);
    expect(await value('other')).toBe(2);
    expect(await value('127.0.0.2')).toBeUndefined();
    expect(await metricValue(registry, 'kansoku_udp_bytes_received_total', { source: 'other' })).toBe(5);
  });

  it('takes its settings from a config section schema', async () => {
    const schema = udpListenerSchema({ port: 2055, recvBufferSize: 4 << 20 });
    const settings = Value.Default(schema, {}) as UdpListenerSettings;
    expect(settings).toEqual({
      address: '0.0.0.0',
      port: 2055,
      reuseAddr: false,
      ipv6Only: false,
      recvBufferSize: 4 << 20,
      maxTrackedSources: 100,
    });
    expect(Value.Check(schema, { ...settings, port: 70000 })).toBe(false);
    const listener = track(
      createUdpListener(
        { name: 'configured', ...settings, address: '127.0.0.1', port: 0, recvBufferSize: 0 },
        { registry: new Registry(), logger: recordingLogger().logger, onDatagram: () => {} },
      ),
    );
    await listener.start();
    // 0 keeps the kernel default
    expect(listener.recvBufferSize()).toBeGreaterThan(0);
  });

  it('listens on IPv6', async () => {
    let from = '';
    const listener = track(
      createUdpListener(
        { name: 'v6', address: '::1', port: 0 },
        {
          registry: new Registry(),
          logger: recordingLogger().logger,
          onDatagram: (_d, rinfo) => {
            from = rinfo.address;
          },
        },
      ),
    );
    await listener.start();
    expect(listener.address()).toMatchObject({ address: '::1', family: 'IPv6' });
    const sender = await client(undefined, 'udp6');
    await send(sender, 'hello', listener.address().port, '::1');
    await vi.waitFor(() => expect(from).toBe('::1'));
  });

  it('rejects start when the port is taken, and stop resolves once closed', async () => {
    const registry = new Registry();
    const deps = { registry, logger: recordingLogger().logger, onDatagram: () => {} };
    const first = track(createUdpListener({ name: 'first', address: '127.0.0.1', port: 0 }, deps));
    await first.start();
    const second = createUdpListener(
      { name: 'second', address: '127.0.0.1', port: first.address().port },
      deps,
    );
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    const { port } = first.address();
    await first.stop();
    await first.stop();
    expect(() => first.address()).toThrow(/not started/);
    // the port is free again once stop() has resolved
    const third = track(createUdpListener({ name: 'third', address: '127.0.0.1', port }, deps));
    await third.start();
    expect(third.address().port).toBe(port);
  });

  it('shares the address with reuseAddr', async () => {
    const deps = { registry: new Registry(), logger: recordingLogger().logger, onDatagram: () => {} };
    const first = track(
      createUdpListener({ name: 'a', address: '127.0.0.1', port: 0, reuseAddr: true }, deps),
    );
    await first.start();
    const second = track(
      createUdpListener(
        { name: 'b', address: '127.0.0.1', port: first.address().port, reuseAddr: true },
        deps,
      ),
    );
    await second.start();
    expect(second.address().port).toBe(first.address().port);
  });
});

describe('kernel socket drops', () => {
  it('parses /proc/net/udp rows', () => {
    const table = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  193: 0100007F:0807 00000000:0000 07 00000000:00001200 00:00000000 00000000     0        0 4242 2 0000000000000000 17',
      '  200: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 99 2 0000000000000000 0',
      'garbage line',
    ].join('\n');
    expect(parseProcNetUdp(table)).toEqual([
      { localPort: 2055, rxQueueBytes: 0x1200, inode: '4242', drops: 17 },
      { localPort: 53, rxQueueBytes: 0, inode: '99', drops: 0 },
    ]);
  });

  it('reports the drops column of the socket’s port on scrape', async () => {
    const procRoot = mkdtempSync(join(tmpdir(), 'kansoku-proc-'));
    try {
      mkdirSync(join(procRoot, 'net'));
      const registry = new Registry();
      const listener = track(
        createUdpListener(
          { name: 'fake-proc', address: '127.0.0.1', port: 0 },
          { registry, logger: recordingLogger().logger, onDatagram: () => {}, procRoot },
        ),
      );
      await listener.start();
      const hexPort = listener.address().port.toString(16).toUpperCase().padStart(4, '0');
      const row = (port: string, inode: number, drops: number) =>
        `   1: 0100007F:${port} 00000000:0000 07 00000000:00000400 00:00000000 00000000  0  0 ${inode} 2 0000000000000000 ${drops}`;
      writeFileSync(
        join(procRoot, 'net', 'udp'),
        ['  sl  local_address ...', row('0001', 1, 5), row(hexPort, 77, 1234)].join('\n'),
      );
      expect(await metricValue(registry, 'kansoku_udp_socket_drops', { listener: 'fake-proc' })).toBe(1234);
      expect(
        await metricValue(registry, 'kansoku_udp_socket_receive_queue_bytes', { listener: 'fake-proc' }),
      ).toBe(0x400);
      await listener.stop();
      expect(
        await metricValue(registry, 'kansoku_udp_socket_drops', { listener: 'fake-proc' }),
      ).toBeUndefined();
    } finally {
      rmSync(procRoot, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync('/proc/net/udp'))(
    'sees the kernel drop datagrams when the receive buffer overflows',
    { timeout: 20_000 },
    async () => {
      const registry = new Registry();
      let received = 0;
      const listener = track(
        createUdpListener(
          // The smallest buffer Linux allows: a few datagrams fill it.
          { name: 'overflow', address: '127.0.0.1', port: 0, recvBufferSize: 1 },
          { registry, logger: recordingLogger().logger, onDatagram: () => void received++ },
        ),
      );
      await listener.start();
      const total = 400;
      // A separate process sends a burst while this one is blocked and cannot read the socket.
      const sender = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('node:dgram').createSocket('udp4');
           process.stdout.write('ready\\n');
           setTimeout(async () => {
             const payload = Buffer.alloc(1000);
             for (let i = 0; i < ${total}; i++) await new Promise((r) => s.send(payload, ${listener.address().port}, '127.0.0.1', r));
             s.close();
           }, 200);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise<void>((resolve) => sender.on('exit', () => resolve()));
      await new Promise<void>((resolve) => sender.stdout.once('data', () => resolve()));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
      await exited;
      const drops = await metricValue(registry, 'kansoku_udp_socket_drops', { listener: 'overflow' });
      expect(drops).toBeGreaterThan(0);
      await vi.waitFor(async () =>
        expect(
          (await metricValue(registry, 'kansoku_udp_datagrams_received_total', { listener: 'overflow' })) ??
            0,
        ).toBe(received),
      );
      // Loopback loses nothing else: what was not received was dropped by the kernel.
      await vi.waitFor(async () => {
        const dropsNow =
          (await metricValue(registry, 'kansoku_udp_socket_drops', { listener: 'overflow' })) ?? 0;
        expect(received + dropsNow).toBe(total);
      });
    },
  );
});
