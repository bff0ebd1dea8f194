/**
 * The collector on real sockets (TCP on a free port, a unix socket in a temp dir), fed by our Frame
 * Streams sender as a resolver would feed it, publishing into a producer that keeps what it gets.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dnsClientShard, dnsClientShardKey } from '@kansoku/contracts';
import { formatIpAddress } from '@kansoku/contracts/ip-address';
import { createMetricsRegistry, silentLogger } from '@kansoku/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createDnsCollector, type DnsCollector } from '../../src/collector/collector.ts';
import { buildDnsQuery, buildDnsResponse } from '../../src/decoders/dns-build.ts';
import { DnstapMessageType, encodeDnstap } from '../../src/decoders/dnstap.ts';
import { ControlType, encodeControlFrame, encodeDataFrame } from '../../src/decoders/frame-streams.ts';
import { openFrameStreamSender } from '../../src/decoders/fstrm-sender.ts';
import {
  type Exchange,
  exchangeFrames,
  expectedRecord,
  memoryProducer,
  testConfig,
  until,
} from './helpers.ts';

const running: DnsCollector[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

async function start(overrides: Parameters<typeof testConfig>[0] = {}) {
  const producer = memoryProducer();
  const registry = createMetricsRegistry({ processMetrics: false });
  const collector = createDnsCollector(testConfig(overrides), {
    producer,
    log: silentLogger(),
    metrics: registry,
  });
  await collector.start();
  running.push(collector);
  return { collector, producer, registry };
}

function exchange(i: number, overrides: Partial<Exchange> = {}): Exchange {
  return {
    client: Uint8Array.from([10, 0, (i >> 8) & 0xff, i & 0xff]),
    clientPort: 40000 + (i % 20000),
    query: {
      id: i & 0xffff,
      name: `host${i}.Example.JP`,
      type: i % 3 === 0 ? 28 : 1,
      edns: { dnssecOk: i % 2 === 0 },
    },
    response: { rcode: i % 5 === 0 ? 3 : 0, answers: i % 5 === 0 ? 0 : 1 + (i % 3) },
    timeSec: 1_764_000_000 + i,
    timeNsec: 123_456_000,
    latencyUs: 150 + i,
    ...overrides,
  };
}

describe('dns collector over TCP', () => {
  it('pairs CLIENT_QUERY and CLIENT_RESPONSE sent by a Frame Streams sender into one record each', async () => {
    const { collector, producer, registry } = await start();
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    const exchanges = Array.from({ length: 500 }, (_, i) => exchange(i));
    for (const e of exchanges) {
      const [q, r] = exchangeFrames(e);
      await sender.send(q);
      await sender.send(r);
    }
    await sender.close();
    await until('500 records', () => producer.records.length >= 500);
    await collector.publisher.flush();
    expect(producer.records).toHaveLength(500);
    const byId = new Map(producer.records.map((r) => [r.messageId, r]));
    for (const [i, e] of exchanges.entries()) {
      const record = byId.get(i)!;
      expect(record).toMatchObject(expectedRecord(e));
      expect(formatIpAddress(record.clientAddress)).toBe(formatIpAddress(e.client));
      expect(producer.keys[producer.records.indexOf(record)]).toBe(
        dnsClientShardKey(dnsClientShard(e.client)),
      );
    }
    expect(collector.assembler.stats().pairing).toMatchObject({
      paired: 500,
      pending: 0,
      unmatchedResponses: 0,
    });
    const metrics = await registry.getMetricsAsJSON();
    const frames = metrics.find((m) => m.name === 'kansoku_dns_collector_frames_total');
    expect(frames?.values.find((v) => v.labels.listener === 'tcp')?.value).toBe(1000);
  });

  it('publishes a query without a response when the response does not come in time', async () => {
    const { collector, producer } = await start({ pairingTimeoutMs: 100 });
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    const [q] = exchangeFrames(exchange(7));
    await sender.send(q);
    await until('the unpaired query', () => producer.records.length === 1, 5000);
    expect(producer.records[0]).toMatchObject({ qname: 'host7.example.jp.', responseSeen: false, rcode: 0 });
    expect(collector.assembler.stats().pairing.timedOut).toBe(1);
    await sender.close();
  });

  it('uses a response that carries its query directly', async () => {
    const { collector, producer } = await start();
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    const spec = { id: 4242, name: 'both.example.', type: 65, edns: { dnssecOk: true } };
    await sender.send(
      encodeDnstap({
        identity: 'knot',
        message: {
          type: DnstapMessageType.AUTH_RESPONSE,
          socketFamily: 2,
          socketProtocol: 2,
          queryAddress: Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 9]),
          queryPort: 5353,
          queryTimeSec: 100,
          queryTimeNsec: 0,
          responseTimeSec: 100,
          responseTimeNsec: 2_500_000,
          queryMessage: buildDnsQuery(spec),
          responseMessage: buildDnsResponse(spec, { rcode: 2 }),
        },
      }),
    );
    await sender.close();
    await until('the record', () => producer.records.length === 1);
    expect(producer.records[0]).toMatchObject({
      qname: 'both.example.',
      qtype: 65,
      ipVersion: 2,
      transport: 2,
      dnssecOk: true,
      rcode: 2,
      responseSeen: true,
      responseTimeUs: 2500n,
      querySizeBytes: buildDnsQuery(spec).length,
      resolverIdentity: 'knot',
    });
    expect(formatIpAddress(producer.records[0]!.clientAddress)).toBe('2001:db8::9');
    expect(collector.assembler.stats().pairing.pending).toBe(0);
  });

  it('skips unreadable frames, counting them per sender, and keeps the stream', async () => {
    const { collector, producer, registry } = await start();
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    await sender.send(Buffer.from([0xff, 0xff, 0xff]));
    await sender.send(
      encodeDnstap({
        message: { type: DnstapMessageType.CLIENT_QUERY, queryMessage: Buffer.from([1, 2, 3]) },
      }),
    );
    const [q, r] = exchangeFrames(exchange(1));
    await sender.send(q);
    await sender.send(r);
    await sender.close();
    await until('the good record', () => producer.records.length === 1);
    const metrics = await registry.getMetricsAsJSON();
    const errors = metrics.find((m) => m.name === 'kansoku_dns_collector_decode_errors_total')!.values;
    expect(errors.map((v) => [v.labels.sender, v.labels.code, v.value]).sort()).toEqual([
      ['127.0.0.1', 'KANSOKU_DNSTAP_MALFORMED', 1],
      ['127.0.0.1', 'KANSOKU_DNS_TRUNCATED', 1],
    ]);
  });

  it('disconnects and counts a client that sends garbage, and one that sends an oversize frame', async () => {
    const { collector, producer, registry } = await start({ maxFrameBytes: 4096 });
    const closed = (chunks: Buffer[]) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: collector.tcpPort() }, () => {
          for (const c of chunks) socket.write(c);
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
        setTimeout(() => reject(new Error('not disconnected')), 5000).unref();
      });
    await closed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    await closed([encodeDataFrame(Buffer.from('data before the handshake'))]);
    await closed([
      encodeControlFrame(ControlType.START, ['protobuf:dnstap.Dnstap']),
      Buffer.from([0, 0, 0x20, 0]), // a data frame of 8192 bytes announced
    ]);
    await closed([encodeControlFrame(ControlType.READY, ['application/json'])]);
    expect(collector.disconnects()).toEqual({
      KANSOKU_FSTRM_FRAME_TOO_LARGE: 2,
      KANSOKU_FSTRM_UNEXPECTED_FRAME: 1,
      KANSOKU_FSTRM_CONTENT_TYPE: 1,
    });
    const metrics = await registry.getMetricsAsJSON();
    const disconnects = metrics.find((m) => m.name === 'kansoku_dns_collector_disconnects_total')!.values;
    expect(disconnects.reduce((sum, v) => sum + v.value, 0)).toBe(4);
    // The collector still serves well-behaved senders.
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    const [q, r] = exchangeFrames(exchange(3));
    await sender.send(q);
    await sender.send(r);
    await sender.close();
    await until('the record', () => producer.records.length === 1);
  });

  it('disconnects and counts a peer that never completes the handshake', async () => {
    const { collector } = await start({ handshakeTimeoutMs: 200 });
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: collector.tcpPort() }, () => {
        socket.write(encodeControlFrame(ControlType.READY, ['protobuf:dnstap.Dnstap'])); // then silence
      });
      socket.resume(); // read (and drop) the ACCEPT, so that the end of the stream is seen
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      setTimeout(() => reject(new Error('not disconnected')), 5000).unref();
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(collector.disconnects()).toEqual({ KANSOKU_FSTRM_HANDSHAKE_TIMEOUT: 1 });
    // A sender that completes the handshake in time stays connected past the timeout.
    const sender = await openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(sender.socket.destroyed).toBe(false);
    await sender.close();
  });

  it('serves many senders at once and a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kansoku-dns-'));
    try {
      const path = join(dir, 'dnstap.sock');
      const { collector, producer } = await start({ unixSocketPath: path });
      const senders = await Promise.all([
        ...Array.from({ length: 8 }, () =>
          openFrameStreamSender({ host: '127.0.0.1', port: collector.tcpPort() }),
        ),
        openFrameStreamSender({ path }),
      ]);
      await Promise.all(
        senders.map(async (sender, s) => {
          for (let i = 0; i < 200; i++) {
            const [q, r] = exchangeFrames(exchange(s * 1000 + i), `resolver-${s}`);
            await sender.send(q);
            await sender.send(r);
          }
          await sender.close();
        }),
      );
      await until('1800 records', () => producer.records.length === 1800);
      expect(new Set(producer.records.map((r) => r.resolverIdentity)).size).toBe(9);
      expect(producer.records.every((r) => r.responseSeen)).toBe(true);
      expect(collector.endpoints().map((e) => e.transport)).toEqual(['tcp', 'unix']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
